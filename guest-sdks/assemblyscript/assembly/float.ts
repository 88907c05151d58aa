// Exact conversions between float64 and decimal text, as Go's strconv does
// them: parseFloat64 rounds a decimal correctly to the nearest float64 (ties
// to even), and shortestDigits finds the shortest decimal that reads back as
// a float64 (the closest one of that length). AssemblyScript's own
// parseFloat and toString are not exact (a few in a thousand 17-digit
// values come out wrong), and JSON numbers must match encoding/json's, so
// both are done here with a small unsigned big integer.

// Big is an unsigned integer of 32-bit limbs, least significant first.
class Big {
  limbs: u32[] = [];

  static of(v: u64): Big {
    const b = new Big();
    while (v != 0) {
      b.limbs.push(<u32>v);
      v >>= 32;
    }
    return b;
  }

  clone(): Big {
    const b = new Big();
    b.limbs = this.limbs.slice(0);
    return b;
  }

  isZero(): bool {
    return this.limbs.length == 0;
  }

  trim(): void {
    while (this.limbs.length > 0 && this.limbs[this.limbs.length - 1] == 0) this.limbs.pop();
  }

  // mulAdd sets this to this*m + a.
  mulAdd(m: u32, a: u32): void {
    let carry: u64 = a;
    const n = this.limbs.length;
    for (let i = 0; i < n; i++) {
      const v = <u64>unchecked(this.limbs[i]) * <u64>m + carry;
      unchecked(this.limbs[i] = <u32>v);
      carry = v >> 32;
    }
    if (carry != 0) this.limbs.push(<u32>carry);
  }

  // mulPow5 multiplies by 5^k.
  mulPow5(k: i32): void {
    while (k >= 13) {
      this.mulAdd(1220703125, 0); // 5^13
      k -= 13;
    }
    let m: u32 = 1;
    for (let i = 0; i < k; i++) m *= 5;
    if (m != 1) this.mulAdd(m, 0);
  }

  // divSmall divides by d and returns the remainder.
  divSmall(d: u32): u32 {
    let rem: u64 = 0;
    for (let i = this.limbs.length - 1; i >= 0; i--) {
      const cur = (rem << 32) | <u64>unchecked(this.limbs[i]);
      unchecked(this.limbs[i] = <u32>(cur / d));
      rem = cur % d;
    }
    this.trim();
    return <u32>rem;
  }

  bitLen(): i32 {
    const n = this.limbs.length;
    if (n == 0) return 0;
    return (n - 1) * 32 + (32 - clz(this.limbs[n - 1]));
  }

  bit(i: i32): u32 {
    if (i < 0) return 0;
    const w = i >> 5;
    if (w >= this.limbs.length) return 0;
    return (this.limbs[w] >> (i & 31)) & 1;
  }

  // anyBelow reports whether any bit below position i is set.
  anyBelow(i: i32): bool {
    if (i <= 0) return false;
    const w = i >> 5;
    for (let k = 0; k < w && k < this.limbs.length; k++) if (this.limbs[k] != 0) return true;
    if (w < this.limbs.length && (i & 31) != 0) {
      if ((this.limbs[w] & ((<u32>1 << (i & 31)) - 1)) != 0) return true;
    }
    return false;
  }

  // shl returns this << n.
  shl(n: i32): Big {
    const r = new Big();
    const words = n >> 5;
    const bits = n & 31;
    for (let i = 0; i < words; i++) r.limbs.push(0);
    let carry: u32 = 0;
    for (let i = 0; i < this.limbs.length; i++) {
      const v = this.limbs[i];
      r.limbs.push(bits == 0 ? v : (v << bits) | carry);
      carry = bits == 0 ? 0 : v >> (32 - bits);
    }
    if (carry != 0) r.limbs.push(carry);
    r.trim();
    return r;
  }

  // shr returns this >> n.
  shr(n: i32): Big {
    const r = new Big();
    const words = n >> 5;
    const bits = n & 31;
    for (let i = words; i < this.limbs.length; i++) {
      let v = this.limbs[i] >> bits;
      if (bits != 0 && i + 1 < this.limbs.length) v |= this.limbs[i + 1] << (32 - bits);
      r.limbs.push(v);
    }
    r.trim();
    return r;
  }

  // shl1Or sets this to this*2 + b.
  shl1Or(b: u32): void {
    let carry = b;
    for (let i = 0; i < this.limbs.length; i++) {
      const v = this.limbs[i];
      this.limbs[i] = (v << 1) | carry;
      carry = v >> 31;
    }
    if (carry != 0) this.limbs.push(carry);
  }

  cmp(o: Big): i32 {
    const a = this.limbs.length, b = o.limbs.length;
    if (a != b) return a < b ? -1 : 1;
    for (let i = a - 1; i >= 0; i--) {
      const x = this.limbs[i], y = o.limbs[i];
      if (x != y) return x < y ? -1 : 1;
    }
    return 0;
  }

  // sub sets this to this - o (this >= o).
  sub(o: Big): void {
    let borrow: i64 = 0;
    for (let i = 0; i < this.limbs.length; i++) {
      let v = <i64>this.limbs[i] - borrow - (i < o.limbs.length ? <i64>o.limbs[i] : 0);
      borrow = 0;
      if (v < 0) {
        v += <i64>1 << 32;
        borrow = 1;
      }
      this.limbs[i] = <u32>v;
    }
    this.trim();
  }

  // toDecimal returns the decimal digits ("0" for zero).
  toDecimal(): string {
    if (this.isZero()) return "0";
    const t = this.clone();
    const chunks = new Array<string>();
    while (!t.isZero()) chunks.push(t.divSmall(1000000000).toString());
    let out = chunks[chunks.length - 1];
    for (let i = chunks.length - 2; i >= 0; i--) out += chunks[i].padStart(9, "0");
    return out;
  }
}

// MAX_DIGITS significant digits are kept when parsing; a float64's exact
// decimal expansion has fewer (767), so a sticky digit standing for the rest
// keeps every rounding decision right.
const MAX_DIGITS = 800;

// fromDigits returns the integer whose decimal digits are d.
function fromDigits(d: string): Big {
  const b = new Big();
  for (let i = 0; i < d.length; i++) b.mulAdd(10, <u32>(d.charCodeAt(i) - 0x30));
  return b;
}

// toFloat rounds q x 2^e (plus a sticky fraction below q's last bit) to the
// nearest float64, ties to even.
function toFloat(q: Big, e: i32, sticky: bool, neg: bool): f64 {
  const sign: u64 = neg ? <u64>1 << 63 : 0;
  const l = q.bitLen();
  if (l == 0) return reinterpret<f64>(sign);
  const top = l - 1 + e;
  if (top > 1023) return reinterpret<f64>(sign | 0x7ff0000000000000);
  const keep = top >= -1022 ? 53 : 53 - (-1022 - top);
  const shift = l - keep;
  let m: u64;
  let exp = e;
  if (shift <= 0) {
    // Exact: normalize the mantissa to keep bits.
    m = 0;
    for (let i = l - 1; i >= 0; i--) m = (m << 1) | <u64>q.bit(i);
    m <<= <u64>(-shift);
    exp = e + shift;
  } else {
    m = 0;
    for (let i = l - 1; i >= shift; i--) m = (m << 1) | <u64>q.bit(i);
    const half = q.bit(shift - 1) == 1;
    const rest = sticky || q.anyBelow(shift - 1);
    if (half && (rest || (m & 1) == 1)) m++;
    exp = e + shift;
  }
  if (m == (<u64>1 << 53)) {
    m = <u64>1 << 52;
    exp++;
  }
  if (m >= (<u64>1 << 52)) {
    const biased = exp + 52 + 1023;
    if (biased >= 2047) return reinterpret<f64>(sign | 0x7ff0000000000000);
    return reinterpret<f64>(sign | (<u64>biased << 52) | (m & 0xfffffffffffff));
  }
  // Subnormal: exp is -1074 here.
  return reinterpret<f64>(sign | m);
}

// decimalToFloat returns the float64 nearest to digits x 10^k (digits
// without leading zeros, at most MAX_DIGITS+1 of them).
function decimalToFloat(digits: string, k: i32, sticky: bool, neg: bool): f64 {
  if (digits.length == 0) return neg ? -0.0 : 0.0;
  const n = digits.length;
  if (n + k > 310) return neg ? -Infinity : Infinity;
  if (n + k < -330) return neg ? -0.0 : 0.0;
  const d = fromDigits(digits);
  if (k >= 0) {
    d.mulPow5(k);
    return toFloat(d, k, sticky, neg);
  }
  // digits / 10^-k = (digits / 5^-k) x 2^k: divide, keeping 60 quotient
  // bits at least.
  const den = Big.of(1);
  den.mulPow5(-k);
  let s = 60 + den.bitLen() - d.bitLen();
  if (s < 0) s = 0;
  const num = d.shl(s);
  // Restoring division, starting from num's top bits below den's length.
  const start = num.bitLen() - den.bitLen();
  const q = new Big();
  let r: Big;
  if (start < 0) {
    r = num;
  } else {
    r = num.shr(start + 1);
    for (let i = start; i >= 0; i--) {
      r.shl1Or(num.bit(i));
      let qb: u32 = 0;
      if (r.cmp(den) >= 0) {
        r.sub(den);
        qb = 1;
      }
      q.shl1Or(qb);
      q.trim();
    }
  }
  return toFloat(q, k - s, sticky || !r.isZero(), neg);
}

// parseFloat64 parses a JSON number (already checked to be one) to the
// nearest float64; out-of-range values are infinite.
export function parseFloat64(s: string): f64 {
  let i = 0;
  const n = s.length;
  let neg = false;
  if (i < n && s.charCodeAt(i) == 0x2d) {
    neg = true;
    i++;
  }
  let digits = "";
  let k: i64 = 0;
  let sticky = false;
  let seenPoint = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x2e) {
      seenPoint = true;
      continue;
    }
    if (c < 0x30 || c > 0x39) break;
    if (digits.length == 0 && c == 0x30) {
      if (seenPoint) k--;
      continue;
    }
    if (digits.length < MAX_DIGITS) {
      digits += String.fromCharCode(c);
      if (seenPoint) k--;
    } else {
      if (c != 0x30) sticky = true;
      if (!seenPoint) k++;
    }
  }
  if (i < n && (s.charCodeAt(i) == 0x65 || s.charCodeAt(i) == 0x45)) {
    i++;
    let eneg = false;
    if (i < n && (s.charCodeAt(i) == 0x2b || s.charCodeAt(i) == 0x2d)) {
      eneg = s.charCodeAt(i) == 0x2d;
      i++;
    }
    let ev: i64 = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      if (ev < 100000) ev = ev * 10 + <i64>(c - 0x30);
    }
    k += eneg ? -ev : ev;
  }
  if (digits.length == 0) return neg ? -0.0 : 0.0;
  // Extreme exponents end as 0 or infinity; clamp before narrowing.
  if (k > 100000) k = 100000;
  if (k < -100000) k = -100000;
  if (sticky) {
    digits += "1";
    k--;
  }
  return decimalToFloat(digits, <i32>k, false, neg);
}

// The result of shortestDigits: the value is 0.<sDigits> x 10^sPoint.
export let sDigits = "";
export let sPoint: i32 = 0;

// roundDigits rounds the exact digits d to p digits, up or down, and
// returns them with the point position adjusted in rPoint.
let rPoint: i32 = 0;

function roundDigits(d: string, point: i32, p: i32, up: bool): string {
  rPoint = point;
  let out = d.substring(0, p);
  if (!up) return out;
  // Add one in the last place.
  const chars = new Array<i32>(p);
  for (let i = 0; i < p; i++) chars[i] = out.charCodeAt(i);
  let i = p - 1;
  while (i >= 0 && chars[i] == 0x39) {
    chars[i] = 0x30;
    i--;
  }
  if (i < 0) {
    rPoint = point + 1;
    return "1";
  }
  chars[i]++;
  return String.fromCharCodes(chars);
}

function stripZeros(d: string): string {
  let end = d.length;
  while (end > 1 && d.charCodeAt(end - 1) == 0x30) end--;
  return d.substring(0, end);
}

// shortestDigits sets sDigits and sPoint to the shortest decimal that reads
// back as v (finite, not zero), the closest one when several of that length
// do, as Go's strconv.FormatFloat(v, 'g', -1, 64).
export function shortestDigits(v: f64): void {
  const a = Math.abs(v);
  if (a < 9007199254740992.0 && a == Math.floor(a)) {
    const d = (<u64>a).toString();
    sPoint = d.length;
    sDigits = stripZeros(d);
    return;
  }
  // The exact decimal expansion of a = m x 2^e.
  const bits = reinterpret<u64>(a);
  const be = <i32>((bits >> 52) & 0x7ff);
  let m = bits & 0xfffffffffffff;
  let e: i32;
  if (be == 0) {
    e = -1074;
  } else {
    m |= <u64>1 << 52;
    e = be - 1075;
  }
  let exact: string;
  let point: i32;
  if (e >= 0) {
    exact = Big.of(m).shl(e).toDecimal();
    point = exact.length;
  } else {
    const b = Big.of(m);
    b.mulPow5(-e);
    exact = b.toDecimal();
    point = exact.length + e;
  }
  exact = stripZeros(exact);
  for (let p = 1; p < exact.length; p++) {
    const down = roundDigits(exact, point, p, false);
    const downPoint = rPoint;
    const up = roundDigits(exact, point, p, true);
    const upPoint = rPoint;
    const downOK = decimalToFloat(down, downPoint - down.length, false, false) == a;
    const upOK = decimalToFloat(up, upPoint - up.length, false, false) == a;
    if (!downOK && !upOK) continue;
    let useUp = upOK;
    if (downOK && upOK) {
      // Both read back: the closer one, comparing the dropped digits with
      // one half (ties to the even last digit).
      const c = exact.charCodeAt(p);
      const restZero = stripZeros(exact.substring(p + 1)) == "0" || p + 1 >= exact.length;
      if (c > 0x35 || (c == 0x35 && !restZero)) useUp = true;
      else if (c < 0x35) useUp = false;
      else useUp = (down.charCodeAt(p - 1) & 1) == 1;
    }
    sDigits = stripZeros(useUp ? up : down);
    sPoint = useUp ? upPoint : downPoint;
    return;
  }
  sDigits = exact;
  sPoint = point;
}
