import { describe, expect, it } from 'vitest';
import { Decimal } from '../../src/parse/decimal.js';
import {
  accuraciesAgree,
  describeAccuracy,
  firstNumber,
  parseAccuracy,
  roundingTolerance,
} from '../../src/parse/numbers.js';

describe('firstNumber', () => {
  it('reads the first number with decimals and percent sign', () => {
    expect(firstNumber('82.8% (↑1.2)')).toMatchObject({ value: 82.8, text: '82.8', decimals: 1, percentSign: true });
    expect(firstNumber('82.8%')!.exact.toString()).toBe('82.8');
    expect(firstNumber('0.992')).toMatchObject({ value: 0.992, text: '0.992', decimals: 3, percentSign: false });
    expect(firstNumber('99,2 %')).toMatchObject({ value: 99.2, percentSign: true });
    expect(firstNumber('82 percent')).toMatchObject({ value: 82, percentSign: true });
    expect(firstNumber('5 pp')).toMatchObject({ value: 5, percentSign: false });
    expect(firstNumber('1e-3')).toMatchObject({ value: 0.001 });
    expect(firstNumber('TBD')).toBeNull();
  });
});

describe('parseAccuracy', () => {
  it('reads percents, with and without a % sign', () => {
    expect(parseAccuracy('82.8%')).toEqual({
      percent: 82.8,
      exact: Decimal.of('82.8'),
      read: 'percent',
      raw: '82.8%',
      decimals: 1,
    });
    expect(parseAccuracy(' 82.8 ')).toEqual({
      percent: 82.8,
      exact: Decimal.of('82.8'),
      read: 'percent',
      raw: '82.8',
      decimals: 1,
    });
    expect(parseAccuracy(99.1667)).toEqual({
      percent: 99.1667,
      exact: Decimal.of('99.1667'),
      read: 'percent',
      raw: '99.1667',
      decimals: 4,
    });
  });

  it('reads 0.992 as a fraction (99.2 %) and says so', () => {
    const a = parseAccuracy('0.992')!;
    expect(a.read).toBe('fraction');
    expect(a.percent).toBeCloseTo(99.2, 10);
    expect(describeAccuracy(a)).toBe('99.2% (read as fraction 0.992)');
    expect(parseAccuracy(0.828)).toMatchObject({ read: 'fraction', decimals: 3 });
    expect(parseAccuracy(1)).toMatchObject({ percent: 100, read: 'fraction' });
  });

  it('a "%" sign always means percent, even below 1', () => {
    expect(parseAccuracy('0.5%')).toEqual({
      percent: 0.5,
      exact: Decimal.of('0.5'),
      read: 'percent',
      raw: '0.5%',
      decimals: 1,
    });
  });

  it('rejects out-of-range and non-finite values', () => {
    expect(parseAccuracy('182%')).toBeNull();
    expect(parseAccuracy('150')).toBeNull();
    expect(parseAccuracy(-0.1)).toBeNull();
    expect(parseAccuracy(Number.NaN)).toBeNull();
    expect(parseAccuracy('-3%')).toBeNull();
    expect(parseAccuracy('n/a')).toBeNull();
  });

  it('describes a percent plainly', () => {
    expect(describeAccuracy(parseAccuracy('99.2%')!)).toBe('99.2%');
  });
});

describe('roundingTolerance', () => {
  it('is half of the last written digit, in percent, exactly', () => {
    expect(roundingTolerance(parseAccuracy('97.2%')!).toString()).toBe('0.05');
    expect(roundingTolerance(parseAccuracy('0.972')!).toString()).toBe('0.05');
    expect(roundingTolerance(parseAccuracy('97%')!).toString()).toBe('0.5');
    expect(roundingTolerance(parseAccuracy('0.97')!).toString()).toBe('0.5');
  });

  it('two written values agree within the coarser rounding, boundary included', () => {
    expect(accuraciesAgree(parseAccuracy('98.9%')!, parseAccuracy(98.8889)!)).toBe(true);
    expect(accuraciesAgree(parseAccuracy('98.9%')!, parseAccuracy('98.95%')!)).toBe(true);
    expect(accuraciesAgree(parseAccuracy('98.9%')!, parseAccuracy('98.96%')!)).toBe(false);
    expect(accuraciesAgree(parseAccuracy('0.989')!, parseAccuracy('98.9%')!)).toBe(true);
  });
});

describe('exact reading of JSON and pickle floats', () => {
  it('0.878 (a float) is 87.8 exactly; 0.814 − 76.4 pp is 5, not 4.999999999999986', () => {
    expect(parseAccuracy(0.878)!.exact.toString()).toBe('87.8');
    const val = parseAccuracy(0.814)!;
    expect(val.exact.sub(parseAccuracy('76.4%')!.exact).toString()).toBe('5');
    expect(0.814 * 100 - 76.4).toBeLessThan(5); // what binary floating point gives
  });

  it('an exponent float (1e-7) and a long repr keep every digit', () => {
    expect(parseAccuracy(1e-7)!.exact.toString()).toBe('0.00001');
    expect(parseAccuracy(98.88888888888889)!.exact.toString()).toBe('98.88888888888889');
  });
});
