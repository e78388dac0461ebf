// Camunda's own TypeScript client, @camunda8/orchestration-cluster-api, against the embedded engine.
// Run by test_rest_sdk_js.py with CAMUNDA_REST_ADDRESS pointing at the engine; strict validation of
// requests and responses, so an answer that does not match the SDK's schemas fails the run.
import assert from 'node:assert/strict';
import { createCamundaClient } from '@camunda8/orchestration-cluster-api';

const resources = process.argv[process.argv.length - 1];
const camunda = createCamundaClient();
const consistency = { consistency: { waitUpToMs: 0 } };
const activation = (requestTimeout) => ({
  type: 'rest-work', timeout: 30000, maxJobsToActivate: 1, worker: 'sdk-js', requestTimeout,
});

const topology = await camunda.getTopology();
assert.equal(topology.brokers.length, 1);

const deployment = await camunda.deployResourcesFromFiles([`${resources}/rest-order.bpmn`]);
assert.equal(deployment.processes[0].processDefinitionId, 'rest-order');

const created = await camunda.createProcessInstance({
  processDefinitionId: 'rest-order', variables: { orderId: 'js-1' },
});
const instanceKey = created.processInstanceKey;

let jobs = (await camunda.activateJobs(activation(2000))).jobs;
assert.equal(jobs.length, 1);
const jobKey = jobs[0].jobKey;
assert.equal(jobs[0].variables.orderId, 'js-1');

await camunda.failJob({ jobKey, retries: 1, errorMessage: 'ERP down', retryBackOff: 60000 });
assert.equal((await camunda.activateJobs(activation(300))).jobs.length, 0);
await camunda.pinClock({ timestamp: Date.now() + 61000 });
jobs = (await camunda.activateJobs(activation(2000))).jobs;
assert.deepEqual(jobs.map((j) => [j.jobKey, j.retries]), [[jobKey, 1]]);

await camunda.failJob({ jobKey, retries: 0, errorMessage: 'ERP still down' });
const incidents = await camunda.searchIncidents({ filter: { processInstanceKey: instanceKey } }, consistency);
assert.deepEqual(incidents.items.map((i) => [i.errorType, i.errorMessage, i.state]), [
  ['JOB_NO_RETRIES', 'ERP still down', 'ACTIVE'],
]);
await camunda.updateJob({ jobKey, changeset: { retries: 1 } });
await camunda.resolveIncident({ incidentKey: incidents.items[0].incidentKey });
await camunda.resetClock();

jobs = (await camunda.activateJobs(activation(2000))).jobs;
assert.deepEqual(jobs.map((j) => j.jobKey), [jobKey]);
await camunda.completeJob({ jobKey, variables: { worked: true } });

const correlated = await camunda.correlateMessage({ name: 'rest-paid', correlationKey: 'js-1' });
assert.equal(correlated.processInstanceKey, instanceKey);

const instance = await camunda.getProcessInstance({ processInstanceKey: instanceKey }, consistency);
assert.equal(instance.state, 'COMPLETED');

// a Camunda user task: its modelled assignee's assigning listener, search, reassign, a completing
// listener that denies, then one that lets the completion through
await camunda.deployResourcesFromFiles([`${resources}/rest-guarded.bpmn`]);
const guarded = await camunda.createProcessInstance({ processDefinitionId: 'rest-guarded' });
const listen = async (type, result) => {
  const [job] = (await camunda.activateJobs({ type, timeout: 30000, maxJobsToActivate: 1, requestTimeout: 5000 })).jobs;
  assert.equal(job.kind, 'TASK_LISTENER');
  await camunda.completeJob(result ? { jobKey: job.jobKey, result } : { jobKey: job.jobKey });
  return job;
};
await listen('rest-assign-guard');
const found = await camunda.searchUserTasks(
  { filter: { processInstanceKey: guarded.processInstanceKey, state: 'CREATED' } }, consistency,
);
assert.deepEqual(found.items.map((t) => [t.elementId, t.assignee]), [['approve', 'ann']]);
const userTaskKey = found.items[0].userTaskKey;
const [, reassigned] = await Promise.all([
  camunda.assignUserTask({ userTaskKey, assignee: 'bea' }), listen('rest-assign-guard'),
]);
assert.equal(reassigned.userTask.assignee, 'bea');
const denial = await Promise.allSettled([
  camunda.completeUserTask({ userTaskKey, variables: { decision: 'ok' } }),
  listen('rest-complete-guard', { type: 'userTask', denied: true, deniedReason: 'not yet' }),
]);
assert.equal(denial[0].status, 'rejected');
assert.equal(denial[1].status, 'fulfilled');
assert.equal((await camunda.getUserTask({ userTaskKey }, consistency)).state, 'CREATED');
await Promise.all([
  camunda.completeUserTask({ userTaskKey, variables: { decision: 'ok' } }), listen('rest-complete-guard'),
]);
assert.equal((await camunda.getUserTask({ userTaskKey }, consistency)).state, 'COMPLETED');
const done = await camunda.getProcessInstance({ processInstanceKey: guarded.processInstanceKey }, consistency);
assert.equal(done.state, 'COMPLETED');

// a Camunda user task with candidates, dates, priority and a linked form: every answer checked strictly
await camunda.deployResourcesFromFiles([`${resources}/rest-review.bpmn`, `${resources}/rest-form.form`]);
const review = await camunda.createProcessInstance({
  processDefinitionId: 'rest-review', variables: { orderId: 'js-r', urgency: 4, requester: 'joe' },
});
const [reviewTask] = (await camunda.searchUserTasks(
  { filter: { processInstanceKey: review.processInstanceKey, candidateGroup: 'leads' } }, consistency,
)).items;
assert.equal(reviewTask.priority, 40);
const reviewKey = reviewTask.userTaskKey;
const reviewForm = await camunda.getUserTaskForm({ userTaskKey: reviewKey }, consistency);
assert.equal(reviewForm.formId, 'rest-form');
const taskVariables = await camunda.searchUserTaskVariables(
  { userTaskKey: reviewKey, filter: { name: 'reviewedOrder' } }, consistency,
);
assert.deepEqual(taskVariables.items.map((v) => v.value), ['"js-r"']);
await camunda.updateUserTask({ userTaskKey: reviewKey, changeset: { priority: 95, dueDate: '2027-01-15T10:00:00.000Z' } });
await camunda.assignUserTask({ userTaskKey: reviewKey, assignee: 'joe' });
await camunda.unassignUserTask({ userTaskKey: reviewKey });
const updated = await camunda.getUserTask({ userTaskKey: reviewKey }, consistency);
assert.deepEqual([updated.priority, updated.dueDate, updated.assignee ?? null], [95, '2027-01-15T10:00:00.000Z', null]);
await camunda.completeUserTask({ userTaskKey: reviewKey, variables: { approved: false } });
const reviewed = await camunda.getProcessInstance({ processInstanceKey: review.processInstanceKey }, consistency);
assert.equal(reviewed.state, 'COMPLETED');
console.log('sdk-js flow ok');
