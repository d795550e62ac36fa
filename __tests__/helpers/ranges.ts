// Shared by the ranges tests: the RangesError a call or a promise fails with.
import { RangesError } from '../../src/ranges/parse.js'

export function refusal(fn: () => unknown): RangesError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(RangesError)
    return error as RangesError
  }
  throw new Error('expected a RangesError')
}

export async function asyncRefusal(promise: Promise<unknown>): Promise<RangesError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(RangesError)
    return error as RangesError
  }
  throw new Error('expected a RangesError')
}
