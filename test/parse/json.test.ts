import { describe, expect, it } from 'vitest';
import { GateError } from '../../src/errors.js';
import {
  findJsonMetric,
  findNumber,
  isRecord,
  lossSeries,
  numericValue,
  parseJsonDocument,
  parsePythonJson,
} from '../../src/parse/json.js';

describe('parsePythonJson', () => {
  it('reads bare NaN / Infinity / -Infinity as Python writes them', () => {
    const v = parsePythonJson('{"loss": [0.5, NaN, Infinity, -Infinity], "acc": 0.9}', 'metrics.json') as {
      loss: number[];
      acc: number;
    };
    expect(v.loss[0]).toBe(0.5);
    expect(Number.isNaN(v.loss[1])).toBe(true);
    expect(v.loss[2]).toBe(Number.POSITIVE_INFINITY);
    expect(v.loss[3]).toBe(Number.NEGATIVE_INFINITY);
    expect(v.acc).toBe(0.9);
  });

  it('leaves NaN / Infinity inside strings alone, escaped quotes included', () => {
    const v = parsePythonJson('{"note": "NaN loss at \\"Infinity\\" step", "k": "-Infinity"}', 'm.json');
    expect(v).toEqual({ note: 'NaN loss at "Infinity" step', k: '-Infinity' });
  });

  it('reads plain JSON unchanged', () => {
    expect(parsePythonJson('{"a": {"b": [1, 2.5e-3, true, null]}}', 'm.json')).toEqual({
      a: { b: [1, 0.0025, true, null] },
    });
  });

  it('rejects invalid JSON with a PARSE_ERROR naming the file', () => {
    expect(() => parsePythonJson('{"a": ', 'results/production/metrics.json')).toThrow(GateError);
    expect(() => parsePythonJson('{"a": nul}', 'results/production/metrics.json')).toThrow(
      /^results\/production\/metrics\.json is not valid JSON: /,
    );
    expect(() => parsePythonJson('', 'x.json')).toThrow(
      expect.objectContaining({ code: 'PARSE_ERROR', file: 'x.json' }),
    );
  });
});

describe('findNumber', () => {
  const data = {
    val_acc: 98.9,
    last_epoch: { val_acc: 98.3, test_accuracy: 97 },
    history: { test_acc: [1, 2] },
    per_class: { test_acc: 5 },
  };

  it('prefers keys in order, top level first, then nested, skipping history and per_class', () => {
    expect(findNumber(data, ['test_acc', 'test_accuracy'])).toEqual({ path: 'last_epoch.test_accuracy', value: 97 });
    expect(findNumber(data, ['val_acc'])).toEqual({ path: 'val_acc', value: 98.9 });
    expect(findNumber({ History: { test_acc: 3 } }, ['test_acc'])).toBeNull();
    expect(findNumber({ TEST_ACC: 0.9 }, ['test_acc'])).toEqual({ path: 'TEST_ACC', value: 0.9 });
  });

  it('ignores non-numbers and respects depth', () => {
    expect(findNumber({ test_acc: '99' }, ['test_acc'])).toBeNull();
    expect(findNumber({ a: { b: { c: { d: { e: { test_acc: 1 } } } } } }, ['test_acc'])).toBeNull();
    expect(findNumber([1, 2], ['x'])).toBeNull();
  });
});

describe('lossSeries / isRecord', () => {
  it('lists every loss array and scalar with its dotted path', () => {
    const s = lossSeries({ train_loss: 0.1, history: { train_loss: [1, NaN], val_loss: [2] }, acc: [1] });
    expect(s.map((x) => x.path)).toEqual(['train_loss', 'history.train_loss', 'history.val_loss']);
    expect(s[0]!.values).toEqual([0.1]);
    expect(Number.isNaN(s[1]!.values[1])).toBe(true);
    expect(lossSeries(null)).toEqual([]);
  });

  it('isRecord accepts only plain objects', () => {
    expect(isRecord({})).toBe(true);
    expect(isRecord([])).toBe(false);
    expect(isRecord(null)).toBe(false);
  });
});

describe('findNumber preference', () => {
  it('takes the shallowest match, and best_val_acc before a nested last-epoch val_acc', () => {
    expect(findNumber({ last_epoch: { val_acc: 97.1 }, best_val_acc: 98.9 }, ['best_val_acc', 'val_acc'])).toEqual({
      path: 'best_val_acc',
      value: 98.9,
    });
    expect(
      findNumber({ last_epoch: { val_acc: 97.1 }, summary: { best: { val_acc: 1 } }, val_acc: 98.2 }, [
        'best_val_acc',
        'val_acc',
      ]),
    ).toEqual({ path: 'val_acc', value: 98.2 });
    expect(findNumber({ a: { b: { val_acc: 90 } }, c: { best_val_acc: 91 } }, ['best_val_acc', 'val_acc'])).toEqual({
      path: 'c.best_val_acc',
      value: 91,
    });
    expect(findNumber({ history: { val_acc: 5 } }, ['val_acc'])).toBeNull();
  });
});

describe('parseJsonDocument: lines, non-finite spellings, duplicates', () => {
  it('keeps the line of every value and reads NaN / nan / Infinity / -inf / Inf spellings', () => {
    const d = parseJsonDocument(
      '{\n  "a": NaN,\n  "b": [nan, -nan,\n    Infinity, -Infinity, inf, -inf, +Inf],\n  "c": "NaN"\n}',
      'm.json',
    );
    const v = d.value as { a: number; b: number[]; c: string };
    expect(Number.isNaN(v.a)).toBe(true);
    expect(v.b.map(String)).toEqual(['NaN', 'NaN', 'Infinity', '-Infinity', 'Infinity', '-Infinity', 'Infinity']);
    expect(v.c).toBe('NaN');
    expect([d.lineOf('a'), d.lineOf('b[0]'), d.lineOf('b[2]'), d.lineOf('c')]).toEqual([2, 3, 4, 5]);
  });

  it('reports keys written twice, and refuses words that only start like NaN', () => {
    expect(parseJsonDocument('{"val_acc": 98.9,\n"val_acc": 97.0}', 'm.json').duplicates).toEqual([
      { path: 'val_acc', lines: [1, 2] },
    ]);
    expect(() => parseJsonDocument('{"a": nana}', 'm.json')).toThrow('m.json is not valid JSON');
    expect(() => parseJsonDocument('{"a": 1} x', 'm.json')).toThrow(/after the value/);
  });

  it('names the separator an object or a list was missing, at its line', () => {
    expect(() => parseJsonDocument('{"a": 1\n "b": 2}', 'm.json')).toThrow(
      'm.json is not valid JSON: expected "," or "}" at line 2',
    );
    expect(() => parseJsonDocument('[1,\n2 3]', 'm.json')).toThrow(
      'm.json is not valid JSON: expected "," or "]" at line 2',
    );
    expect(() => parseJsonDocument('{"a": [1, 2}', 'm.json')).toThrow('expected "," or "]" at line 1');
    expect(() => parseJsonDocument('{"a": 1,}', 'm.json')).toThrow('expected a key string at line 1');
    expect(parseJsonDocument('{ }', 'm.json').value).toEqual({});
    expect(parseJsonDocument('[\n]', 'm.json').value).toEqual([]);
  });

  it('numericValue: what a value means where a number is expected', () => {
    expect(numericValue('nan')).toEqual({ value: Number.NaN, written: '"nan"' });
    expect(numericValue('-Infinity')).toEqual({ value: Number.NEGATIVE_INFINITY, written: '"-Infinity"' });
    expect(numericValue('98.9%')).toEqual({ value: 98.9, written: '"98.9%"' });
    expect(numericValue(null)).toEqual({ missing: true, written: 'null' });
    expect(numericValue('cnn')).toBeNull();
  });
});

describe('findJsonMetric: by meaning, ambiguity as an answer', () => {
  const doc = (text: string) => parseJsonDocument(text, 'metrics.json');

  it('nested objects: split and metric from the keys above', () => {
    const d = doc(
      '{"metrics": {"test": {"accuracy": 0.991, "f1": {"macro": 0.99, "weighted": 0.98}}, "validation": {"acc": 98.9}}}',
    );
    expect(findJsonMetric(d, { split: 'test', kind: 'accuracy' })).toMatchObject({
      found: { path: 'metrics.test.accuracy', value: 0.991, line: 1 },
    });
    expect(findJsonMetric(d, { split: 'test', kind: 'f1' })).toMatchObject({
      found: { path: 'metrics.test.f1.macro', value: 0.99 },
    });
    expect(findJsonMetric(d, { split: 'val', kind: 'accuracy', epoch: 'best' })).toMatchObject({
      found: { path: 'metrics.validation.acc', value: 98.9 },
    });
  });

  it('best vs last epoch: explicit words, then unqualified keys, then the last element of a history', () => {
    const d = doc('{"val_acc": 98.9, "last_epoch": {"val_acc": 98.3}, "history": {"val_acc": [97.0, 98.9, 98.3]}}');
    expect(findJsonMetric(d, { split: 'val', kind: 'accuracy', epoch: 'best' })).toMatchObject({
      found: { path: 'val_acc', value: 98.9 },
    });
    expect(findJsonMetric(d, { split: 'val', kind: 'accuracy', epoch: 'last' })).toMatchObject({
      found: { path: 'last_epoch.val_acc', value: 98.3 },
    });
    const records = doc('{"history": [{"epoch": 1, "val_acc": 0.97}, {"epoch": 2, "val_acc": 0.98}]}');
    expect(findJsonMetric(records, { split: 'val', kind: 'accuracy', epoch: 'last' })).toMatchObject({
      found: { path: 'history[1].val_acc', value: 0.98 },
    });
    const series = doc('{"history": {"val_accuracy": [0.9, 0.95]}}');
    expect(findJsonMetric(series, { split: 'val', kind: 'accuracy', epoch: 'last' })).toMatchObject({
      found: { path: 'history.val_accuracy[1]', value: 0.95 },
    });
    expect(findJsonMetric(series, { split: 'val', kind: 'accuracy', epoch: 'best' })).toBeNull();
  });

  it('best epoch from a history when best_epoch is written: records by their epoch field, lists by the epoch numbers the document writes, else only when 0- and 1-based agree', () => {
    const records = doc(
      '{"best_epoch": 2,\n"history": [\n{"epoch": 1, "val_acc": 0.97},\n{"epoch": 2, "val_acc": 0.99},\n{"epoch": 3, "val_acc": 0.98}]}',
    );
    expect(findJsonMetric(records, { split: 'val', kind: 'accuracy', epoch: 'best' })).toMatchObject({
      found: { path: 'history[1].val_acc', value: 0.99, line: 4 },
    });
    const list = doc('{"best_epoch": 2, "history": {"val_acc": [0.97, 0.99, 0.98]}}');
    expect(findJsonMetric(list, { split: 'val', kind: 'accuracy', epoch: 'best' })).toEqual({
      ambiguous:
        'ambiguous: best_epoch 2 in metrics.json may count from 1 or from 0: metrics.json:1 history.val_acc[1] = 0.99 or history.val_acc[2] = 0.98',
    });
    // The document's own epoch numbers decide how the list counts.
    const lastEpoch = doc(
      '{"best_epoch": 2, "last_epoch": {"epoch": 3, "val_acc": 0.98}, "history": {"val_acc": [0.97, 0.99, 0.98]}}',
    );
    expect(findJsonMetric(lastEpoch, { split: 'val', kind: 'accuracy', epoch: 'best' })).toMatchObject({
      found: { path: 'history.val_acc[1]', value: 0.99 },
    });
    const fromZero = doc('{"best_epoch": 2, "final_epoch": 2, "history": {"val_acc": [0.97, 0.98, 0.99]}}');
    expect(findJsonMetric(fromZero, { split: 'val', kind: 'accuracy', epoch: 'best' })).toMatchObject({
      found: { path: 'history.val_acc[2]', value: 0.99 },
    });
    const epochList = doc('{"best_epoch": 11, "history": {"epoch": [10, 11, 12], "val_acc": [0.97, 0.99, 0.98]}}');
    expect(findJsonMetric(epochList, { split: 'val', kind: 'accuracy', epoch: 'best' })).toMatchObject({
      found: { path: 'history.val_acc[1]', value: 0.99 },
    });
    // A last epoch that fits neither count tells nothing: still ambiguous.
    const unrelated = doc('{"best_epoch": 2, "last_epoch": 7, "history": {"val_acc": [0.97, 0.99, 0.98]}}');
    expect(findJsonMetric(unrelated, { split: 'val', kind: 'accuracy', epoch: 'best' })).toHaveProperty('ambiguous');
    // Two histories whose best-epoch entries differ: which one the checkpoint holds cannot be told.
    const twoHistories = doc(
      '{"best_epoch": 2,\n"history": [{"epoch": 1, "val_acc": 0.9}, {"epoch": 2, "val_acc": 0.95}],\n"log_history": [{"epoch": 1, "eval_accuracy": 0.9}, {"epoch": 2, "eval_accuracy": 0.97}]}',
    );
    expect(findJsonMetric(twoHistories, { split: 'val', kind: 'accuracy', epoch: 'best' })).toEqual({
      ambiguous:
        'ambiguous: val accuracy (best epoch) is written differently in metrics.json:2 history[1].val_acc = 0.95 and metrics.json:3 log_history[1].eval_accuracy = 0.97',
    });
    const lastIsBest = doc('{"best_epoch": 3, "history": {"val_acc": [0.97, 0.98, 0.99]}}');
    expect(findJsonMetric(lastIsBest, { split: 'val', kind: 'accuracy', epoch: 'best' })).toMatchObject({
      found: { path: 'history.val_acc[2]', value: 0.99 },
    });
  });

  it('the same number as a fraction and a percent agrees; different numbers are ambiguous, naming both', () => {
    expect(
      findJsonMetric(doc('{"test_acc": 0.991, "test": {"accuracy": 99.1}}'), { split: 'test', kind: 'accuracy' }),
    ).toMatchObject({ found: { value: 0.991 } });
    expect(
      findJsonMetric(doc('{"test_acc": 0.991,\n"results": {"test_accuracy": 0.95}}'), {
        split: 'test',
        kind: 'accuracy',
      }),
    ).toEqual({
      ambiguous:
        'ambiguous: test accuracy is written differently in metrics.json:1 test_acc = 0.991 and metrics.json:2 results.test_accuracy = 0.95',
    });
    expect(findJsonMetric(doc('{"test_acc": 0.991,\n"test_acc": 0.95}'), { split: 'test', kind: 'accuracy' })).toEqual({
      ambiguous: 'ambiguous: test_acc is written twice in metrics.json (lines 1 and 2)',
    });
    expect(
      findJsonMetric(doc('{"best_val_acc": 98.9, "best": {"val_acc": 97.0}}'), {
        split: 'val',
        kind: 'accuracy',
        epoch: 'best',
      }),
    ).toMatchObject({ ambiguous: expect.stringContaining('best_val_acc = 98.9') });
  });

  it('per-class values are not overall values; NaN and null are reported as written', () => {
    expect(findJsonMetric(doc('{"per_class": {"0": {"test_f1": 0.5}}}'), { split: 'test', kind: 'f1' })).toBeNull();
    expect(findJsonMetric(doc('{"test_acc": NaN}'), { split: 'test', kind: 'accuracy' })).toMatchObject({
      found: { written: 'NaN' },
    });
    expect(findJsonMetric(doc('{"test_acc": null}'), { split: 'test', kind: 'accuracy' })).toMatchObject({
      found: { value: null, written: 'null' },
    });
  });
});
