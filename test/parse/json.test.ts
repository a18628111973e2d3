import { describe, expect, it } from 'vitest';
import { GateError } from '../../src/errors.js';
import { findNumber, isRecord, lossSeries, parsePythonJson } from '../../src/parse/json.js';

describe('parsePythonJson', () => {
  it('reads bare NaN / Infinity / -Infinity as Python writes them', () => {
    const v = parsePythonJson('{"loss": [0.5, NaN, Infinity, -Infinity], "acc": 0.9}', 'metrics.json') as { loss: number[]; acc: number };
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
    expect(parsePythonJson('{"a": {"b": [1, 2.5e-3, true, null]}}', 'm.json')).toEqual({ a: { b: [1, 0.0025, true, null] } });
  });

  it('rejects invalid JSON with a PARSE_ERROR naming the file', () => {
    expect(() => parsePythonJson('{"a": ', 'results/production/metrics.json')).toThrow(GateError);
    expect(() => parsePythonJson('{"a": nul}', 'results/production/metrics.json')).toThrow(/^results\/production\/metrics\.json is not valid JSON: /);
    expect(() => parsePythonJson('', 'x.json')).toThrow(expect.objectContaining({ code: 'PARSE_ERROR', file: 'x.json' }));
  });
});

describe('findNumber', () => {
  const data = { val_acc: 98.9, last_epoch: { val_acc: 98.3, test_accuracy: 97 }, history: { test_acc: [1, 2] }, per_class: { test_acc: 5 } };

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
    expect(findNumber({ last_epoch: { val_acc: 97.1 }, best_val_acc: 98.9 }, ['best_val_acc', 'val_acc'])).toEqual({ path: 'best_val_acc', value: 98.9 });
    expect(findNumber({ last_epoch: { val_acc: 97.1 }, summary: { best: { val_acc: 1 } }, val_acc: 98.2 }, ['best_val_acc', 'val_acc'])).toEqual({ path: 'val_acc', value: 98.2 });
    expect(findNumber({ a: { b: { val_acc: 90 } }, c: { best_val_acc: 91 } }, ['best_val_acc', 'val_acc'])).toEqual({ path: 'c.best_val_acc', value: 91 });
    expect(findNumber({ history: { val_acc: 5 } }, ['val_acc'])).toBeNull();
  });
});
