/**
 * Exact decimal numbers for thresholds: a value is `units / 10^scale` with bigint units, so a
 * number is compared as written ("5.0" pp is not < 5, 89.9 ≥ 89.9, 0.878 → 87.8 exactly) instead
 * of through binary floating point (87.8 − 82.8 = 4.999999999999986 in a float).
 */
export class Decimal {
  private constructor(
    readonly units: bigint,
    readonly scale: number,
  ) {}

  /** Parses a plain or exponent decimal ("-12.50", "1e-3", "99,2"); null for anything else. */
  static parse(text: string): Decimal | null {
    const m = /^\s*([-+]?)(\d*)(?:[.,](\d*))?(?:[eE]([-+]?\d+))?\s*$/.exec(text);
    if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
    const frac = m[3] ?? '';
    let units = BigInt(`${m[2] || '0'}${frac}`);
    let scale = frac.length - Number(m[4] ?? 0);
    if (scale < 0) {
      units *= 10n ** BigInt(-scale);
      scale = 0;
    }
    return new Decimal(m[1] === '-' ? -units : units, scale);
  }

  /**
   * A JavaScript number as its shortest round-trip text (what Python's repr and JSON writers
   * print), so 0.878 read from JSON or a pickle is the decimal 0.878, not 0.87799999999999989.
   */
  static fromNumber(n: number): Decimal {
    if (!Number.isFinite(n)) throw new RangeError(`not a finite number: ${n}`);
    return Decimal.parse(String(n))!;
  }

  static of(v: number | string | Decimal): Decimal {
    if (v instanceof Decimal) return v;
    if (typeof v === 'number') return Decimal.fromNumber(v);
    const d = Decimal.parse(v);
    if (!d) throw new RangeError(`not a decimal: ${v}`);
    return d;
  }

  private align(other: Decimal): [bigint, bigint, number] {
    const scale = Math.max(this.scale, other.scale);
    return [this.units * 10n ** BigInt(scale - this.scale), other.units * 10n ** BigInt(scale - other.scale), scale];
  }

  add(other: Decimal): Decimal {
    const [a, b, scale] = this.align(other);
    return new Decimal(a + b, scale);
  }

  sub(other: Decimal): Decimal {
    const [a, b, scale] = this.align(other);
    return new Decimal(a - b, scale);
  }

  abs(): Decimal {
    return this.units < 0n ? new Decimal(-this.units, this.scale) : this;
  }

  /** × 10^k (k may be negative): fraction → percent is `shift(2)`. */
  shift(k: number): Decimal {
    if (k <= this.scale) return new Decimal(this.units, this.scale - k);
    return new Decimal(this.units * 10n ** BigInt(k - this.scale), 0);
  }

  cmp(other: Decimal): -1 | 0 | 1 {
    const [a, b] = this.align(other);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  lt(o: Decimal): boolean {
    return this.cmp(o) < 0;
  }
  le(o: Decimal): boolean {
    return this.cmp(o) <= 0;
  }
  gt(o: Decimal): boolean {
    return this.cmp(o) > 0;
  }
  ge(o: Decimal): boolean {
    return this.cmp(o) >= 0;
  }
  eq(o: Decimal): boolean {
    return this.cmp(o) === 0;
  }

  /** Nearest float, for metrics fields and display only, never for a decision. */
  toNumber(): number {
    return Number(this.toString());
  }

  /** The exact value without trailing zeros: 5.0 → "5", 87.80 → "87.8", -0.05 → "-0.05". */
  toString(): string {
    const neg = this.units < 0n;
    let digits = (neg ? -this.units : this.units).toString().padStart(this.scale + 1, '0');
    let out = digits;
    if (this.scale > 0) {
      const int = digits.slice(0, digits.length - this.scale);
      const frac = digits.slice(digits.length - this.scale).replace(/0+$/, '');
      out = frac ? `${int}.${frac}` : int;
    }
    digits = out;
    return neg && /[1-9]/.test(digits) ? `-${digits}` : digits;
  }
}
