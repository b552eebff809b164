// Cuts bytes or text into the chunks a stream might hand over, for tests of streaming readers.

/** `data` cut at `cuts` (positions in any order, taken modulo its length; repeats give no empty chunks). */
export async function* chunked<T extends string | Buffer>(data: T, cuts: number[]): AsyncGenerator<T> {
  const slice = (from: number, to?: number) => (typeof data === 'string' ? data.slice(from, to) : data.subarray(from, to)) as T;
  let at = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b)) {
    yield slice(at, cut);
    at = cut;
  }
  yield slice(at);
}
