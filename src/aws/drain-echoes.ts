// SDK middleware: authorize and revoke answer with every rule they changed (about 49 per call in a
// full sync), which the sync never reads. A successful answer is drained unparsed and the SDK is
// handed an empty body, which it does not parse either. Errors, retries and throttling go through
// the SDK unchanged: only HTTP 200 answers are touched.
//
// Kept for its figure (BENCHMARKS.md, "The authorize/revoke echo"): without it, a 16-region first
// sync peaked at 257 instead of 174 MiB and took 43% longer on the same 2 busy cores.
import type { DeserializeMiddleware, MiddlewareStack } from '@smithy/types'
import { Readable } from 'node:stream'

const ECHOING_COMMANDS = new Set([
  'AuthorizeSecurityGroupIngressCommand',
  'RevokeSecurityGroupIngressCommand'
])

interface RawResponse {
  statusCode?: number
  body?: unknown
}

export function drainEchoes<Input extends object, Output extends object>(
  stack: MiddlewareStack<Input, Output>
): void {
  // Same step as the SDK's deserializer, lower priority: sees the raw answer before it does.
  stack.add(drainEcho(), { step: 'deserialize', priority: 'low', name: 'drainEchoes' })
}

export function drainEcho<Input extends object, Output extends object>(): DeserializeMiddleware<
  Input,
  Output
> {
  return (next, context) => async args => {
    const result = await next(args)
    const response = result.response as RawResponse
    if (
      response.statusCode === 200 &&
      response.body instanceof Readable &&
      ECHOING_COMMANDS.has(context.commandName ?? '')
    ) {
      // Revoke's `UnknownIpPermissions` goes with it. In a default VPC, EC2 lists there the rules
      // it did not find instead of failing with InvalidPermission.NotFound (EC2 API reference,
      // RevokeSecurityGroupIngress): a rule already gone is what the sync wants anyway.
      response.body.resume()
      response.body = Readable.from([])
    }
    return result
  }
}
