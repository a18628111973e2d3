import { XMLParser } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHECK_IDS } from '../../src/checks/registry.js';
import type { GateReport } from '../../src/engine.js';
import { evidenceLocation } from '../../src/report/common.js';
import { JUNIT_WARNINGS_AS, renderJunit } from '../../src/report/junit.js';
import { everyStatusReport, exampleReport, JENKINS_XSD, SUREFIRE_XSD, xmllint } from './reports.js';

interface Case {
  '@_name': string;
  '@_classname': string;
  '@_file'?: string;
  '@_line'?: string;
  failure?: { '@_type': string; '@_message': string; '#text': string };
  error?: { '@_type': string };
  skipped?: { '@_message': string };
  'system-out'?: string;
}
interface Suite {
  '@_failures': string;
  '@_errors': string;
  '@_skipped': string;
  '@_tests': string;
  properties: { property: { '@_name': string; '@_value': string }[] };
  testcase: Case[];
}

function parse(xml: string): Suite {
  return (
    new XMLParser({ ignoreAttributes: false, isArray: (n) => n === 'testcase' || n === 'property' }).parse(xml) as {
      testsuite: Suite;
    }
  ).testsuite;
}
const prop = (s: Suite, name: string) => s.properties.property.find((p) => p['@_name'] === name)?.['@_value'];
const byId = (s: Suite, id: string) => s.testcase.find((c) => c['@_name'] === id)!;

let example: GateReport;
let mixed: GateReport;
beforeAll(async () => {
  example = await exampleReport();
  mixed = everyStatusReport(example);
});

describe('JUnit report', () => {
  it.each(JUNIT_WARNINGS_AS)(
    'validates against the Jenkins xunit and the Surefire XSDs (warnings as %s)',
    (warningsAs) => {
      for (const report of [example, mixed]) {
        const xml = renderJunit(report, { warningsAs });
        for (const xsd of [JENKINS_XSD, SUREFIRE_XSD]) {
          const v = xmllint(xml, xsd);
          expect(v.output).toMatch(/validates/);
          expect(v.ok).toBe(true);
        }
      }
    },
  );

  it('the validation is real: the earlier <testsuites skipped=…> wrapper is refused by Jenkins, file/line attributes by both', () => {
    const wrapped = renderJunit(example)
      .replace(/<testsuite /, '<testsuites name="x" skipped="1"><testsuite ')
      .replace('</testsuite>', '</testsuite></testsuites>');
    expect(xmllint(wrapped, JENKINS_XSD).ok).toBe(false);
    const withFiles = renderJunit(mixed, { fileAttributes: true });
    expect(xmllint(withFiles, JENKINS_XSD).output).toMatch(/attribute 'file' is not allowed/);
    expect(xmllint(withFiles, SUREFIRE_XSD).ok).toBe(false);
  });

  it('names each testcase by its stable check id, classed by category; one per check', () => {
    const s = parse(renderJunit(mixed));
    expect(s.testcase.map((c) => c['@_name'])).toEqual(CHECK_IDS);
    expect(byId(s, 'test.target')['@_classname']).toBe('readiness.test');
    expect(byId(s, 'signoff.product')['@_classname']).toBe('readiness.signoff');
    expect(Number(s['@_tests'])).toBe(CHECK_IDS.length);
  });

  it('failures, errors, security findings and skipped items, with counts that match', () => {
    const s = parse(renderJunit(mixed, { warningsAs: 'passed' }));
    expect(byId(s, 'test.target').failure?.['@_type']).toBe('check');
    expect(byId(s, 'test.target').failure?.['@_message']).toMatch(/< target 80%/);
    expect(byId(s, 'test.target').failure?.['#text']).toMatch(/Remediation: If test_acc < target/);
    expect(byId(s, 'checkpoint.best').failure?.['@_type']).toBe('security');
    expect(byId(s, 'repro.env_snapshot').error?.['@_type']).toBe('error');
    expect(byId(s, 'signoff.product').failure?.['@_message']).toMatch(/rejected by/);
    expect(byId(s, 'export.parity').skipped?.['@_message']).toMatch(/^skipped: heavy check skipped/);
    expect(byId(s, 'signoff.technical').skipped?.['@_message']).toMatch(/^pending: awaiting approval/);
    const failures = s.testcase.filter((c) => c.failure).length;
    expect([Number(s['@_failures']), Number(s['@_errors']), Number(s['@_skipped'])]).toEqual([
      failures,
      1,
      s.testcase.filter((c) => c.skipped).length,
    ]);
    expect(prop(s, 'heavy_skipped')).toBe('export.parity, export.inference');
    expect(prop(s, 'gate')).toBe('blocked');
  });

  describe('warnings are visible in every mode', () => {
    it('failures (the default): a <failure type="warning">, counted', () => {
      const s = parse(renderJunit(mixed));
      const c = byId(s, 'docs.model_card');
      expect(c.failure?.['@_type']).toBe('warning');
      expect(c.failure?.['@_message']).toMatch(/^warning: docs\/model_card\.md absent/);
      expect(c['system-out']).toMatch(/^WARNING \(docs\.model_card\)/);
      expect(prop(s, 'warnings')).toBe('docs.model_card');
      expect(prop(s, 'warnings_as')).toBe('failures');
    });
    it('skipped: a <skipped message="warning: …">', () => {
      const c = byId(parse(renderJunit(mixed, { warningsAs: 'skipped' })), 'docs.model_card');
      expect(c.failure).toBeUndefined();
      expect(c.skipped?.['@_message']).toMatch(/^warning: /);
    });
    it('passed: a pass whose <system-out> starts with WARNING, and the warnings property', () => {
      const s = parse(renderJunit(mixed, { warningsAs: 'passed' }));
      const c = byId(s, 'docs.model_card');
      expect(c.failure ?? c.skipped).toBeUndefined();
      expect(c['system-out']).toMatch(/^WARNING \(docs\.model_card\): model_card\.md created/);
      expect(prop(s, 'warnings')).toBe('docs.model_card');
    });
  });

  it('passing items carry their evidence in <system-out>', () => {
    const c = byId(parse(renderJunit(example)), 'test.evaluated');
    expect(c['system-out']).toContain('Test Accuracy: 99.2% (results/production/test_results.md:10)');
  });

  it('file and line from the evidence: in the body always, as attributes on request', () => {
    const plain = parse(renderJunit(mixed));
    expect(byId(plain, 'test.target')['@_file']).toBeUndefined();
    expect(byId(plain, 'test.target').failure?.['#text']).toContain('at results/production/test_results.md:10');
    const s = parse(renderJunit(mixed, { fileAttributes: true }));
    expect([byId(s, 'test.target')['@_file'], byId(s, 'test.target')['@_line']]).toEqual([
      'results/production/test_results.md',
      '10',
    ]);
    expect([byId(s, 'repro.env_snapshot')['@_file'], byId(s, 'repro.env_snapshot')['@_line']]).toEqual([
      'requirements.txt',
      '3',
    ]);
    expect(byId(s, 'signoff.technical')['@_file']).toBeUndefined();
  });

  it('control characters and markup in evidence stay inert', () => {
    const xml = renderJunit(mixed);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: BEL and ESC must not reach the XML
    expect(xml).not.toMatch(/[\u0007\u001b]/);
    expect(xml).toContain('&lt;tag&gt; &amp; ]]&gt;');
  });
});

describe('evidenceLocation', () => {
  it.each([
    [
      ['results/production/training.log:34: "Training complete"'],
      { file: 'results/production/training.log', line: 34 },
    ],
    [
      ['Test Accuracy: 99.2% (results/production/test_results.md:10)'],
      { file: 'results/production/test_results.md', line: 10 },
    ],
    [
      ['Test accuracy 99.2% (results/production/test_results.md line 10) ≥ target'],
      { file: 'results/production/test_results.md', line: 10 },
    ],
    [['final_report.md "Known Issues" (line 34): 2 issue(s)'], { file: 'final_report.md', line: 34 }],
    [
      ['ONNX: models/production_model.onnx (85.4 KB)', 'see final_report.md line 3'],
      { file: 'final_report.md', line: 3 },
    ],
    [['ONNX: models/production_model.onnx (85.4 KB)'], { file: 'models/production_model.onnx' }],
    [['awaiting approval in Slack'], null],
  ])('%j', (evidence, expected) => {
    expect(evidenceLocation(evidence)).toEqual(expected);
  });
});
