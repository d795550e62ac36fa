// What CloudWatch Logs extracts from one log line in the Embedded Metric Format, checked against
// the rules of the specification (and its JSON schema) on the way:
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
// Throws, naming the rule, on a line CloudWatch would not turn into metrics.

export interface ExtractedPoint {
  namespace: string
  name: string
  value: number | number[]
  unit: string
  dimensions: Record<string, string>
}

const UNITS = new Set(
  (
    'Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits ' +
    'Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second ' +
    'Megabytes/Second Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second ' +
    'Megabits/Second Gigabits/Second Terabits/Second Count/Second None'
  ).split(' ')
)

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function fail(rule: string): never {
  throw new Error(`not an EMF document: ${rule}`)
}

/** The metric points of the line: one per metric and dimension set of each directive. */
export function extractEmf(line: string): ExtractedPoint[] {
  // The log event must be a JSON object with nothing before or after it.
  if (line.includes('\n')) fail('one log event per line')
  let root: unknown
  try {
    root = JSON.parse(line)
  } catch {
    fail('the line is not JSON')
  }
  if (!isObject(root)) fail('the root is not an object')
  const meta = root._aws
  if (!isObject(meta)) fail('no _aws object')
  if (!Number.isInteger(meta.Timestamp)) fail('_aws.Timestamp is not milliseconds since the epoch')
  if (!Array.isArray(meta.CloudWatchMetrics)) fail('_aws.CloudWatchMetrics is not an array')
  const points: ExtractedPoint[] = []
  for (const directive of meta.CloudWatchMetrics as unknown[]) {
    if (!isObject(directive)) fail('a MetricDirective is not an object')
    const { Namespace, Dimensions, Metrics } = directive
    if (typeof Namespace !== 'string' || Namespace === '' || Namespace.length > 1024) {
      fail('Namespace is not a string of 1 to 1024 characters')
    }
    if (!Array.isArray(Dimensions) || Dimensions.length === 0) {
      fail('Dimensions is not a non-empty array of dimension sets')
    }
    if (!Array.isArray(Metrics) || Metrics.length > 100) {
      fail('Metrics is not an array of at most 100 definitions')
    }
    const sets = (Dimensions as unknown[]).map(set => {
      if (!Array.isArray(set) || set.length > 30) fail('a DimensionSet is not 0 to 30 names')
      const dimensions: Record<string, string> = {}
      for (const name of set as unknown[]) {
        if (typeof name !== 'string' || name === '') fail('a dimension name is not a string')
        const value = root[name]
        if (typeof value !== 'string' || value.length > 1024) {
          fail(`dimension target ${name} is not a string member of the root (at most 1024)`)
        }
        dimensions[name] = value
      }
      return dimensions
    })
    for (const definition of Metrics as unknown[]) {
      if (!isObject(definition) || typeof definition.Name !== 'string') {
        fail('a MetricDefinition has no Name')
      }
      const unit = definition.Unit ?? 'None'
      if (typeof unit !== 'string' || !UNITS.has(unit)) fail(`unit ${String(unit)} is unknown`)
      const value = root[definition.Name]
      const numeric =
        (typeof value === 'number' && Number.isFinite(value)) ||
        (Array.isArray(value) &&
          value.length <= 100 &&
          value.every(v => typeof v === 'number' && Number.isFinite(v)))
      if (!numeric) fail(`metric target ${definition.Name} is not a number at the root`)
      for (const dimensions of sets) {
        points.push({
          namespace: Namespace,
          name: definition.Name,
          value: value as number | number[],
          unit,
          dimensions
        })
      }
    }
  }
  return points
}

/** Every point extracted from the lines that carry an `_aws` member. */
export function extractAll(lines: string[]): ExtractedPoint[] {
  return lines.filter(l => l.includes('"_aws"')).flatMap(extractEmf)
}
