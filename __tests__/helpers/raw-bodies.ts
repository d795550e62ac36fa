// A test middleware for EC2 clients: reads each answer's raw body, hands it to `record`, and puts
// it back so whatever comes next (the SDK's deserializer) reads it as if untouched.
import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-ec2'
import type { DeserializeMiddleware } from '@smithy/types'
import { Readable } from 'node:stream'

export function bodyRecorder(
  record: (body: Buffer) => void
): DeserializeMiddleware<ServiceInputTypes, ServiceOutputTypes> {
  return next => async args => {
    const result = await next(args)
    const response = result.response as { body: Readable }
    const chunks: Buffer[] = []
    for await (const chunk of response.body) chunks.push(chunk as Buffer)
    record(Buffer.concat(chunks))
    response.body = Readable.from(chunks)
    return result
  }
}
