// SDK middleware for the two answers a sync receives in bulk, so that reading them costs little.
// Both sit inside the SDK's deserializer (same step, lower priority) and touch only HTTP 200
// answers: errors, retries and throttling go through the SDK unchanged.
//
// - Authorize and revoke answer with every rule they changed, which the sync never reads: drained
//   unparsed, and the SDK is handed an empty body, which it does not parse either.
// - DescribeSecurityGroups pages are read by `readSecurityGroupsPage` instead of the SDK's generic
//   XML deserializer (about a tenth of the memory and time; BENCHMARKS.md). A page it cannot read
//   goes to the SDK as it came.
import type { DeserializeMiddleware, MiddlewareStack } from '@smithy/types'
import { Readable } from 'node:stream'
import type { SecurityGroupsPage } from './security-groups-xml.js'
import { readSecurityGroupsPage } from './security-groups-xml.js'

const ECHOING_COMMANDS = new Set([
  'AuthorizeSecurityGroupIngressCommand',
  'RevokeSecurityGroupIngressCommand'
])
const DESCRIBE_COMMAND = 'DescribeSecurityGroupsCommand'

/** Pages read here, by the HTTP response that carried them, until the SDK's output is built. */
const pagesRead = new WeakMap<object, SecurityGroupsPage>()

interface RawResponse {
  statusCode?: number
  body?: unknown
}

export function useLeanAnswers<Input extends object, Output extends object>(
  stack: MiddlewareStack<Input, Output>
): void {
  stack.add(readRawAnswers(), { step: 'deserialize', priority: 'low', name: 'leanAnswersRead' })
  stack.add(attachPages(), { step: 'deserialize', priority: 'high', name: 'leanAnswersAttach' })
}

/** Innermost: sees EC2's raw answer before the SDK's deserializer does. */
function readRawAnswers<Input extends object, Output extends object>(): DeserializeMiddleware<
  Input,
  Output
> {
  return (next, context) => async args => {
    const result = await next(args)
    const command = context.commandName ?? ''
    const response = result.response as RawResponse
    if (response.statusCode !== 200 || !(response.body instanceof Readable)) return result
    if (ECHOING_COMMANDS.has(command)) {
      // Revoke's `UnknownIpPermissions` goes with it. In a default VPC, EC2 lists there the rules
      // it did not find instead of failing with InvalidPermission.NotFound (EC2 API reference,
      // RevokeSecurityGroupIngress): a rule already gone is what the sync wants anyway.
      response.body.resume()
      response.body = Readable.from([])
    } else if (command === DESCRIBE_COMMAND) {
      const bytes = await collect(response.body)
      try {
        pagesRead.set(response, readSecurityGroupsPage(bytes.toString('utf8')))
        response.body = Readable.from([])
      } catch {
        response.body = Readable.from([bytes])
      }
    }
    return result
  }
}

/** Outermost: puts a page read above into the output the SDK built from the empty body. */
function attachPages<Input extends object, Output extends object>(): DeserializeMiddleware<
  Input,
  Output
> {
  return next => async args => {
    const result = await next(args)
    const page = pagesRead.get(result.response as object)
    if (page && result.output) Object.assign(result.output, page)
    return result
  }
}

async function collect(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
