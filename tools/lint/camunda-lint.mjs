// Lints BPMN models with @camunda/linting and Camunda Forms with @camunda/form-linting: the linters
// Camunda Desktop and Web Modeler run before a deploy, configured from each file's own
// executionPlatform / executionPlatformVersion. Prints one JSON object {file: [reports]} and exits 1
// when any file has a report (error or warning), 2 on a file that cannot be read or parsed.
import { register } from 'node:module';
import { readFile } from 'node:fs/promises';

register('./hooks.mjs', import.meta.url);

const { Linter } = await import('@camunda/linting');
const { FormLinter } = await import('@camunda/form-linting');

const bpmnLinter = new Linter({ modeler: 'desktop', type: 'cloud' });
const formLinter = new FormLinter();
const results = {};
let failed = false;
for (const file of process.argv.slice(2)) {
  const text = await readFile(file, 'utf8');
  const reports = file.endsWith('.form') ? await formLinter.lint(text) : await bpmnLinter.lint(text);
  results[file] = reports.map(({ id, category, rule, message }) => ({ id, category, rule, message }));
  failed ||= reports.length > 0;
}
process.stdout.write(JSON.stringify(results, null, 2) + '\n');
process.exit(failed ? 1 : 0);
