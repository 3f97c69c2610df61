/**
 * Formats a date with a Go reference layout ("2006-01-02 15:04:05"), so
 * confd's `{{datetime.Format "Jan 2, 2006"}}` ports as
 * `{{datetime "Jan 2, 2006"}}`. Always UTC: a rendered file must not depend
 * on the host's time zone.
 */
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

type Formatter = (d: Date) => string;
const pad = (n: number, width: number, fill = '0') => String(n).padStart(width, fill);
const hour12 = (d: Date) => (d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12);
const dayOfYear = (d: Date) => Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;

// Longest tokens first so "2006" wins over "2" and "January" over "Jan".
const TOKENS: readonly (readonly [string, Formatter])[] = [
  ['January', (d) => MONTHS[d.getUTCMonth()] ?? ''],
  ['Monday', (d) => DAYS[d.getUTCDay()] ?? ''],
  ['Z07:00:00', () => 'Z'],
  ['-07:00:00', () => '+00:00:00'],
  ['Z070000', () => 'Z'],
  ['-070000', () => '+000000'],
  ['Z07:00', () => 'Z'],
  ['-07:00', () => '+00:00'],
  ['Z0700', () => 'Z'],
  ['-0700', () => '+0000'],
  ['2006', (d) => pad(d.getUTCFullYear(), 4)],
  ['Z07', () => 'Z'],
  ['-07', () => '+00'],
  ['Jan', (d) => (MONTHS[d.getUTCMonth()] ?? '').slice(0, 3)],
  ['Mon', (d) => (DAYS[d.getUTCDay()] ?? '').slice(0, 3)],
  ['MST', () => 'UTC'],
  ['002', (d) => pad(dayOfYear(d), 3)],
  ['_2', (d) => pad(d.getUTCDate(), 2, ' ')],
  ['01', (d) => pad(d.getUTCMonth() + 1, 2)],
  ['02', (d) => pad(d.getUTCDate(), 2)],
  ['03', (d) => pad(hour12(d), 2)],
  ['04', (d) => pad(d.getUTCMinutes(), 2)],
  ['05', (d) => pad(d.getUTCSeconds(), 2)],
  ['06', (d) => pad(d.getUTCFullYear() % 100, 2)],
  ['15', (d) => pad(d.getUTCHours(), 2)],
  ['PM', (d) => (d.getUTCHours() >= 12 ? 'PM' : 'AM')],
  ['pm', (d) => (d.getUTCHours() >= 12 ? 'pm' : 'am')],
  ['1', (d) => String(d.getUTCMonth() + 1)],
  ['2', (d) => String(d.getUTCDate())],
  ['3', (d) => String(hour12(d))],
  ['4', (d) => String(d.getUTCMinutes())],
  ['5', (d) => String(d.getUTCSeconds())],
];

export function formatGoLayout(date: Date, layout: string): string {
  let out = '';
  let i = 0;
  outer: while (i < layout.length) {
    // Fractional seconds: ".000" keeps zeros, ".999" trims them (JS has ms only).
    const frac = /^[.,](0+|9+)(?![0-9])/.exec(layout.slice(i));
    if (frac?.[1] !== undefined) {
      const digits = frac[1];
      let value = pad(date.getUTCMilliseconds(), 3).padEnd(digits.length, '0').slice(0, digits.length);
      if (digits.startsWith('9')) value = value.replace(/0+$/, '');
      out += value === '' ? '' : `${frac[0][0]}${value}`;
      i += frac[0].length;
      continue;
    }
    for (const [token, format] of TOKENS) {
      if (layout.startsWith(token, i)) {
        out += format(date);
        i += token.length;
        continue outer;
      }
    }
    out += layout[i];
    i++;
  }
  return out;
}
