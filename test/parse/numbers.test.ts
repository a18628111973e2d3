import { describe, expect, it } from 'vitest';
import { describeAccuracy, firstNumber, parseAccuracy, roundingTolerance } from '../../src/parse/numbers.js';

describe('firstNumber', () => {
  it('reads the first number with decimals and percent sign', () => {
    expect(firstNumber('82.8% (↑1.2)')).toEqual({ value: 82.8, text: '82.8', decimals: 1, percentSign: true });
    expect(firstNumber('0.992')).toEqual({ value: 0.992, text: '0.992', decimals: 3, percentSign: false });
    expect(firstNumber('99,2 %')).toMatchObject({ value: 99.2, percentSign: true });
    expect(firstNumber('82 percent')).toMatchObject({ value: 82, percentSign: true });
    expect(firstNumber('5 pp')).toMatchObject({ value: 5, percentSign: false });
    expect(firstNumber('1e-3')).toMatchObject({ value: 0.001 });
    expect(firstNumber('TBD')).toBeNull();
  });
});

describe('parseAccuracy', () => {
  it('reads percents, with and without a % sign', () => {
    expect(parseAccuracy('82.8%')).toEqual({ percent: 82.8, read: 'percent', raw: '82.8%', decimals: 1 });
    expect(parseAccuracy(' 82.8 ')).toEqual({ percent: 82.8, read: 'percent', raw: '82.8', decimals: 1 });
    expect(parseAccuracy(99.1667)).toEqual({ percent: 99.1667, read: 'percent', raw: '99.1667', decimals: 4 });
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
    expect(parseAccuracy('0.5%')).toEqual({ percent: 0.5, read: 'percent', raw: '0.5%', decimals: 1 });
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
  it('is half of the last written digit, in percent', () => {
    expect(roundingTolerance(parseAccuracy('97.2%')!)).toBeCloseTo(0.05, 12);
    expect(roundingTolerance(parseAccuracy('0.972')!)).toBeCloseTo(0.05, 12);
    expect(roundingTolerance(parseAccuracy('97%')!)).toBeCloseTo(0.5, 12);
    expect(roundingTolerance(parseAccuracy('0.97')!)).toBeCloseTo(0.5, 12);
  });
});
