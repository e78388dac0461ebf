// The instance's diagram (bpmn-js): the path taken, the active elements and the incidents as markers, with
// badges counting active tokens and incidents; element names from the diagram fill the tables.
(function () {
  'use strict';
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const xml = read('diagram-xml');
  const elements = read('diagram-elements');
  const incidents = read('diagram-incidents');
  const viewer = new BpmnJS({ container: '#diagram' });
  window.procgovDiagram = { ready: null, markers: {} };

  function count(list, key) {
    const counts = {};
    list.forEach((item) => { counts[item[key]] = (counts[item[key]] || 0) + 1; });
    return counts;
  }

  window.procgovDiagram.ready = viewer.importXML(xml).then(({ warnings }) => {
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    const overlays = viewer.get('overlays');
    const markers = window.procgovDiagram.markers;
    const mark = (id, marker) => {
      if (!registry.get(id)) return;
      canvas.addMarker(id, marker);
      (markers[marker] = markers[marker] || []).push(id);
    };
    const visited = new Set(elements.map((e) => e.elementId));
    elements.filter((e) => e.state === 'COMPLETED').forEach((e) => mark(e.elementId, 'pg-completed'));
    const active = count(elements.filter((e) => e.state === 'ACTIVE'), 'elementId');
    Object.keys(active).forEach((id) => {
      mark(id, 'pg-active');
      if (registry.get(id)) {
        overlays.add(id, 'pg-count', { position: { bottom: 10, left: -8 },
          html: `<span class="pg-badge pg-badge-active" title="进行中 Active">${active[id]}</span>` });
      }
    });
    const failing = count(incidents, 'elementId');
    Object.keys(failing).forEach((id) => {
      mark(id, 'pg-incident');
      if (registry.get(id)) {
        overlays.add(id, 'pg-count', { position: { top: -10, right: 10 },
          html: `<span class="pg-badge pg-badge-incident" title="事故 Incident">${failing[id]}</span>` });
      }
    });
    // Sequence flows taken: the API has no record of flows, so a flow counts as taken when the element
    // it leaves completed and the element it reaches was entered.
    registry.filter((el) => el.type === 'bpmn:SequenceFlow').forEach((flow) => {
      const source = flow.businessObject.sourceRef && flow.businessObject.sourceRef.id;
      const target = flow.businessObject.targetRef && flow.businessObject.targetRef.id;
      const left = elements.some((e) => e.elementId === source && e.state === 'COMPLETED');
      if (left && visited.has(target)) mark(flow.id, 'pg-taken');
    });
    document.querySelectorAll('td[data-element-id]').forEach((cell) => {
      const el = registry.get(cell.dataset.elementId);
      const name = el && el.businessObject && el.businessObject.name;
      if (name) { cell.textContent = name; cell.title = cell.dataset.elementId; }
    });
    canvas.zoom('fit-viewport');
    return { warnings: warnings.map(String), markers };
  }, (error) => {
    window.procgovConsole.say(`流程图无法显示 The diagram could not be rendered: ${error}`, true);
    throw error;
  });
})();
