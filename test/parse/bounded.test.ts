import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { GateError } from '../../src/errors.js';
import { assertJsonDepth, assertYamlDepth, MAX_NESTING_DEPTH, parseYamlBounded } from '../../src/parse/bounded.js';
import { parseJsonDocument } from '../../src/parse/json.js';

const FOUR_MB = 4 * 1024 * 1024;

describe('JSON nesting limit', () => {
  it('accepts exactly the limit, refuses one more, naming file and line', () => {
    const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(() => assertJsonDepth(nested(MAX_NESTING_DEPTH), 'm.json')).not.toThrow();
    expect(() => assertJsonDepth(nested(MAX_NESTING_DEPTH + 1), 'm.json')).toThrow(
      'm.json:1: JSON nests deeper than 64 levels; refused before parsing',
    );
    expect(() => assertJsonDepth(`{\n"a":\n${nested(10)}}`, 'm.json', 5)).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE', file: 'm.json' }),
    );
  });

  it('brackets inside strings do not count', () => {
    expect(() => assertJsonDepth(`{"note": "${'['.repeat(1000)}\\"${'{'.repeat(1000)}"}`, 'm.json')).not.toThrow();
  });

  it('a 4 MB file of nested "[" is refused fast and with little memory, before any parse', () => {
    const bomb = '['.repeat(FOUR_MB);
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    let err: unknown;
    try {
      parseJsonDocument(bomb, 'results/production/metrics.json');
    } catch (e) {
      err = e;
    }
    const ms = performance.now() - t0;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    expect(err).toBeInstanceOf(GateError);
    expect((err as GateError).message).toBe(
      'results/production/metrics.json:1: JSON nests deeper than 64 levels; refused before parsing',
    );
    // Generous bounds: the pre-scan stops at byte 65. (Unbounded, this input took 760 MB.)
    expect(ms).toBeLessThan(1000);
    expect(heapGrowth).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('YAML nesting limit', () => {
  it('counts block indentation, compact sequences and flow collections', () => {
    const block = (n: number) => `${Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')} x\n`;
    expect(() => assertYamlDepth(block(MAX_NESTING_DEPTH), 'c.yaml')).not.toThrow();
    expect(() => assertYamlDepth(block(MAX_NESTING_DEPTH + 1), 'c.yaml')).toThrow(
      'c.yaml:65: YAML nests deeper than 64 levels; refused before parsing',
    );
    expect(() => assertYamlDepth(`${'- '.repeat(70)}x\n`, 'c.yaml')).toThrow(/c\.yaml:1: YAML nests deeper/);
    expect(() => assertYamlDepth(`a: ${'['.repeat(70)}\n`, 'c.yaml')).toThrow(/c\.yaml:1: YAML nests deeper/);
    expect(() =>
      assertYamlDepth(`a: "${'['.repeat(70)}"\nb: '${'{'.repeat(70)}'\nc: x # ${'['.repeat(70)}\n`, 'c.yaml'),
    ).not.toThrow();
    expect(() => assertYamlDepth(`script: |\n  ${'['.repeat(70)}\n  done\nnext: 1\n`, 'c.yaml')).not.toThrow();
  });

  it('a 4 MB YAML of nested "[" is refused fast; an alias bomb is refused by the parser', () => {
    const t0 = performance.now();
    expect(() => parseYamlBounded(`dependencies: ${'['.repeat(FOUR_MB)}`, 'environment.yml')).toThrow(
      'environment.yml:1: YAML nests deeper than 64 levels',
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    const bomb = [
      'a: &a [x,x,x,x,x,x,x,x,x]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(',')}]`,
      ),
    ].join('\n');
    expect(() => parseYamlBounded(bomb, 'x.yml')).toThrow(/x\.yml is not valid YAML/);
  });

  it('parses ordinary YAML', () => {
    expect(parseYamlBounded('seed: 42\nmodel:\n  name: cnn\n  layers: [1, 2, {a: 3}]\n', 'c.yaml')).toEqual({
      seed: 42,
      model: { name: 'cnn', layers: [1, 2, { a: 3 }] },
    });
  });
});
