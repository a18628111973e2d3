import { describe, expect, it } from 'vitest';
import { Decimal } from '../../src/parse/decimal.js';

const d = (s: string) => Decimal.of(s);

describe('Decimal', () => {
  it('parses what people and JSON writers write', () => {
    expect(['5', '5.0', '-12.50', '1e-3', '2.5E2', '99,2', '.5', '007.10'].map((s) => d(s).toString())).toEqual([
      '5',
      '5',
      '-12.5',
      '0.001',
      '250',
      '99.2',
      '0.5',
      '7.1',
    ]);
    expect(Decimal.parse('abc')).toBeNull();
    expect(Decimal.parse('1.2.3')).toBeNull();
    expect(Decimal.parse('')).toBeNull();
  });

  it('compares as written: 5.0 is not < 5, 89.9 ≥ 89.9, 0.70 ≤ 0.7', () => {
    expect(d('5.0').lt(d('5'))).toBe(false);
    expect(d('4.99').lt(d('5'))).toBe(true);
    expect(d('89.9').ge(d('89.9'))).toBe(true);
    expect(d('89.89').ge(d('89.9'))).toBe(false);
    expect(d('0.70').gt(d('0.7'))).toBe(false);
    expect(d('0.701').gt(d('0.7'))).toBe(true);
  });

  it('subtracts exactly where binary floating point does not', () => {
    expect(0.949 * 100 - 89.9).toBeLessThan(5);
    expect(d('0.949').shift(2).sub(d('89.9')).toString()).toBe('5');
    expect(d('98.8889').sub(d('99.2')).abs().toString()).toBe('0.3111');
    expect(d('0.1').add(d('0.2')).eq(d('0.3'))).toBe(true);
  });

  it('fromNumber uses the shortest round-trip text (0.878 → 0.878, not 0.87799999999999989)', () => {
    expect(Decimal.fromNumber(0.878).toString()).toBe('0.878');
    expect(Decimal.fromNumber(0.878).shift(2).toString()).toBe('87.8');
    expect(Decimal.fromNumber(1e-7).toString()).toBe('0.0000001');
    expect(Decimal.fromNumber(98.88888888888889).toString()).toBe('98.88888888888889');
    expect(() => Decimal.fromNumber(Number.NaN)).toThrow(RangeError);
  });

  it('shift moves the decimal point both ways', () => {
    expect(d('0.65').shift(2).toString()).toBe('65');
    expect(d('65.0').shift(-2).toString()).toBe('0.65');
    expect(d('-0.05').toString()).toBe('-0.05');
    expect(d('-0').toString()).toBe('0');
  });
});
