// CloudWatch metrics as log lines in the Embedded Metric Format (EMF): Lambda ships stdout to the
// function's log group and CloudWatch Logs extracts the metrics from it, so no PutMetricData call
// and no cloudwatch:PutMetricData permission. One line per datum, a single JSON object.
// Specification: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
// - the root holds `_aws: {Timestamp (ms since the epoch), CloudWatchMetrics: [MetricDirective]}`,
//   a directive {Namespace, Dimensions: DimensionSet[], Metrics: [{Name, Unit}]} (at most 100);
// - every name a directive references is a member of the root: a metric a number, a dimension a
//   string of at most 1024 characters; other root members are allowed (our log fields);
// - each DimensionSet creates one series; a set "MAY be empty" (a series without dimensions),
//   and holds at most 30 keys.
import type { Fields, Logger } from './log.js'

export type MetricUnit = 'Count' | 'Seconds'

export interface MetricDatum {
  name: string
  value: number
  unit: MetricUnit
  /** The dimension values, each a root member of the line. */
  dimensions: Record<string, string>
  /** The series to publish to: one per set of dimension names ([] for none). */
  dimensionSets: string[][]
}

/** Log fields the logger writes itself: a metric or dimension must not take their place. */
const RESERVED = new Set(['time', 'level', 'msg', 'requestId', 'handler', '_aws'])

/** The EMF members of one datum, to merge into a log line; throws on a datum EMF would drop. */
export function emfFields(namespace: string, datum: MetricDatum, time: Date): Fields {
  const problem = emfProblem(datum)
  if (problem) throw new Error(`metric ${datum.name}: ${problem}`)
  return {
    _aws: {
      Timestamp: time.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: datum.dimensionSets,
          Metrics: [{ Name: datum.name, Unit: datum.unit }]
        }
      ]
    },
    [datum.name]: datum.value,
    ...datum.dimensions
  }
}

function emfProblem(datum: MetricDatum): string | undefined {
  if (!Number.isFinite(datum.value)) return `value ${datum.value} is not a finite number`
  const names = [datum.name, ...Object.keys(datum.dimensions)]
  if (names.some(n => RESERVED.has(n))) return 'a name collides with a log field'
  if (datum.dimensionSets.length === 0) return 'no dimension set (use [[]] for none)'
  for (const set of datum.dimensionSets) {
    if (set.length > 30) return 'a dimension set holds more than 30 names'
    const missing = set.find(name => datum.dimensions[name] === undefined)
    if (missing !== undefined) return `dimension ${missing} has no value`
  }
  const long = Object.entries(datum.dimensions).find(([, v]) => v === '' || v.length > 1024)
  if (long) return `dimension ${long[0]} must have 1 to 1024 characters`
  return undefined
}

/** Writes the datum as one EMF log line (msg "metric"), through the logger and its redaction. */
export function putMetric(log: Logger, namespace: string, datum: MetricDatum, time = new Date()) {
  log.info('metric', emfFields(namespace, datum, time))
}
