// The task's Camunda Form rendered with form-js (as Tasklist renders it: the schema, the task's variables as
// data), submitted as the completion's variables.
(function () {
  'use strict';
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const schema = read('form-schema');
  const data = read('form-data');
  const readonly = read('form-readonly');
  const container = document.getElementById('form');
  const completeButton = document.getElementById('complete');
  let form = null;

  window.procgovForm = { ready: Promise.resolve(null), warnings: [] };
  if (schema && container) {
    form = new FormViewer.Form({ container, properties: { readOnly: readonly } });
    window.procgovForm.ready = form.importSchema(schema, data).then(({ warnings }) => {
      window.procgovForm.warnings = warnings.map(String);
      return form;
    }, (error) => {
      window.procgovConsole.say(`表单无法显示 The form could not be rendered: ${error}`, true);
      throw error;
    });
  }

  if (completeButton) {
    completeButton.addEventListener('click', async () => {
      let variables = {};
      if (form) {
        const { data: filled, errors } = form.submit();
        if (Object.keys(errors).length) {
          window.procgovConsole.say('请更正表单中标出的字段 Please correct the marked fields', true);
          return;
        }
        variables = filled;
      }
      completeButton.disabled = true;
      try {
        await window.procgovConsole.act(`/api/tasks/${completeButton.dataset.key}/complete`, { variables });
      } catch (e) {
        completeButton.disabled = false;
        return;
      }
      window.location = '/tasks?done=' + completeButton.dataset.key;
    });
  }
})();
