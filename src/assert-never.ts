// The exhaustiveness check of every `switch` over a discriminated union: the compiler refuses a
// case left out, and a value that still slips through at run time (a bad cast) fails loudly.
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
