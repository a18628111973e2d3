import { describe, expect, it } from 'vitest';
import { VARIANTS } from './docs/variants.js';
import { ENV_BENIGN, ENV_DEFECTS } from './env/variants.js';

/** The corpus as a whole: other teams' runs, at least 60, half that must not block and half that must. */
describe('run-variant corpus', () => {
  it('has at least 60 variants: at least 30 benign and 30 defects', () => {
    const benign = VARIANTS.filter((v) => v.kind === 'benign').length + ENV_BENIGN.length;
    const defects = VARIANTS.filter((v) => v.kind === 'defect').length + ENV_DEFECTS.length;
    expect(benign + defects).toBeGreaterThanOrEqual(60);
    expect(benign).toBeGreaterThanOrEqual(30);
    expect(defects).toBeGreaterThanOrEqual(30);
  });

  it('every defect expects a blocking verdict and every variant asserts evidence', () => {
    for (const v of VARIANTS) {
      expect(v.expect.length, v.name).toBeGreaterThan(0);
      for (const e of v.expect) {
        expect(e.evidence.length, v.name).toBeGreaterThan(0);
        if (v.kind === 'defect') expect(['fail', 'error'], v.name).toContain(e.status);
      }
    }
    for (const v of [...ENV_BENIGN, ...ENV_DEFECTS]) expect(v.evidence.length, v.name).toBeGreaterThan(0);
    for (const v of ENV_DEFECTS) expect(['fail', 'error'], v.name).toContain(v.status);
  });
});
