// The README's inputs/outputs tables and the INPUT_* block of .env.example, generated from
// action.yml. Pure: text in, text out, so `npm run docs` (dev/docs.ts) and its unit test share it.
//
// Each generated block sits between two markers that stay in place:
//   README.md     <!-- action-docs-inputs:start --> ... <!-- action-docs-inputs:end -->
//                 <!-- action-docs-outputs:start --> ... <!-- action-docs-outputs:end -->
//   .env.example  # action-inputs:start ... # action-inputs:end
// Everything outside the markers is left byte for byte as it was.
import yaml from 'js-yaml'

export interface ActionInput {
  name: string
  description: string
  /** The default as the runner hands it over: always a string, '' when absent. */
  default: string
  required: boolean
  deprecationMessage?: string
}

export interface ActionOutput {
  name: string
  description: string
}

export interface ActionMetadata {
  inputs: ActionInput[]
  outputs: ActionOutput[]
}

/** A marker pair, as it appears in the target file. */
export interface Markers {
  start: string
  end: string
}

export const README_INPUT_MARKERS: Markers = {
  start: '<!-- action-docs-inputs:start -->',
  end: '<!-- action-docs-inputs:end -->'
}
export const README_OUTPUT_MARKERS: Markers = {
  start: '<!-- action-docs-outputs:start -->',
  end: '<!-- action-docs-outputs:end -->'
}
export const README_USAGE_MARKERS: Markers = {
  start: '<!-- action-docs-usage:start -->',
  end: '<!-- action-docs-usage:end -->'
}
/** The `uses:` line of the README's copyable block (forks: your own owner; pin as "Versioning"). */
export const USAGE_REFERENCE = 'octo-org/cloudfront-sg-sync@v1'
export const ENV_INPUT_MARKERS: Markers = {
  start: '# action-inputs:start',
  end: '# action-inputs:end'
}

/** Shown in the Default column when an input has no default (or an empty one). */
export const NO_DEFAULT = '—'

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** YAML scalars become the strings the runner would see (`default: 60` is '60'). */
function scalar(value: unknown, where: string): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  throw new Error(`${where} must be a string, number or boolean, got ${JSON.stringify(value)}`)
}

/** Reads the inputs and outputs of an action.yml, in file order. */
export function parseActionMetadata(actionYaml: string): ActionMetadata {
  const document: unknown = yaml.load(actionYaml)
  if (!isRecord(document)) throw new Error('action.yml is not a YAML mapping')
  const section = (key: 'inputs' | 'outputs'): [string, Record<string, unknown>][] => {
    const value = document[key]
    if (value === undefined || value === null) return []
    if (!isRecord(value)) throw new Error(`action.yml: '${key}' must be a mapping`)
    return Object.entries(value).map(([name, spec]) => {
      if (spec !== null && !isRecord(spec)) {
        throw new Error(`action.yml: ${key}.${name} must be a mapping`)
      }
      return [name, spec ?? {}]
    })
  }
  const inputs = section('inputs').map(([name, spec]): ActionInput => {
    const input: ActionInput = {
      name,
      description: scalar(spec.description, `inputs.${name}.description`),
      default: scalar(spec.default, `inputs.${name}.default`),
      required: spec.required === true || spec.required === 'true'
    }
    const deprecation = scalar(spec.deprecationMessage, `inputs.${name}.deprecationMessage`)
    if (deprecation !== '') input.deprecationMessage = deprecation
    return input
  })
  const outputs = section('outputs').map(([name, spec]): ActionOutput => ({
    name,
    description: scalar(spec.description, `outputs.${name}.description`)
  }))
  return { inputs, outputs }
}

/** One line, pipes escaped: safe inside a GitHub-flavoured Markdown table cell. */
export function tableCell(text: string): string {
  return text.replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|')
}

/** Inline code that survives backticks in the value (CommonMark: a longer fence). */
export function inlineCode(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map(run => run.length))
  const fence = '`'.repeat(longestRun + 1)
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${text}${pad}${fence}`
}

export function renderInputsTable(metadata: ActionMetadata): string {
  const rows = metadata.inputs.map(input => {
    const defaultCell = input.default.trim() === '' ? NO_DEFAULT : inlineCode(input.default)
    let description = input.description
    if (input.deprecationMessage) description += ` **Deprecated:** ${input.deprecationMessage}`
    const required = input.required ? '**yes**' : 'no'
    return (
      `| ${tableCell(inlineCode(input.name))} | ${required} | ${tableCell(defaultCell)} | ` +
      `${tableCell(description)} |`
    )
  })
  return [
    '| Input | Required | Default | Description |',
    '| --- | --- | --- | --- |',
    ...rows
  ].join('\n')
}

/** A YAML scalar that is valid whatever the value holds: single-quoted, or JSON for newlines. */
function yamlQuoted(value: string): string {
  return value.includes('\n') ? JSON.stringify(value) : `'${value.replace(/'/g, "''")}'`
}

/**
 * The copyable step: every input with its description as a comment, set to its default, so a
 * reader deletes what they do not need (the style of actions/checkout's README).
 */
export function renderUsageYaml(metadata: ActionMetadata, uses = USAGE_REFERENCE): string {
  const lines = ['```yaml', `- uses: ${uses}`, '  with:']
  for (const input of metadata.inputs) {
    const note = input.required ? ' Required.' : ''
    lines.push(...wrapComment(`${input.description}${note}`, 100, '    #'))
    lines.push(`    ${input.name}: ${yamlQuoted(input.default)}`, '')
  }
  if (lines[lines.length - 1] === '') lines.pop()
  lines.push('```')
  return lines.join('\n')
}

export function renderOutputsTable(metadata: ActionMetadata): string {
  const rows = metadata.outputs.map(
    output => `| ${tableCell(inlineCode(output.name))} | ${tableCell(output.description)} |`
  )
  return ['| Output | Description |', '| --- | --- |', ...rows].join('\n')
}

/** The variable the runner sets for an input: spaces become underscores, hyphens stay. */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

/** A dotenv value: bare when unambiguous, double-quoted (with \n escapes) otherwise. */
export function dotenvValue(value: string): string {
  if (/^[^\s#'"`\\]*$/.test(value)) return value
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`
}

function wrapComment(text: string, width = 100, prefix = '#'): string[] {
  const words = text.replace(/\s+/g, ' ').trim().split(' ')
  const lines: string[] = []
  let line = prefix
  for (const word of words) {
    if (word === '') continue
    if (line !== prefix && line.length + 1 + word.length > width) {
      lines.push(line)
      line = prefix
    }
    line += ` ${word}`
  }
  if (line !== prefix) lines.push(line)
  return lines
}

/** One commented assignment per input, set to its default, in action.yml order. */
export function renderEnvInputs(metadata: ActionMetadata): string {
  return metadata.inputs
    .map(input => {
      const note = input.required ? ' (required)' : ''
      return [
        ...wrapComment(`${input.name}${note}: ${input.description}`),
        `${inputVariable(input.name)}=${dotenvValue(input.default)}`
      ].join('\n')
    })
    .join('\n\n')
}

/**
 * Replaces what lies between one marker pair with `content` (markers kept, each on its own line).
 * Fails when a marker is missing, repeated, or the pair is reversed: a generator must never guess.
 */
export function replaceBetweenMarkers(
  text: string,
  markers: Markers,
  content: string,
  file = 'the file'
): string {
  const count = (needle: string): number => text.split(needle).length - 1
  for (const marker of [markers.start, markers.end]) {
    const found = count(marker)
    if (found !== 1) {
      throw new Error(
        `${file} must contain the marker '${marker}' exactly once (found ${found}); add the ` +
          `pair '${markers.start}' / '${markers.end}' where the generated block belongs.`
      )
    }
  }
  const start = text.indexOf(markers.start)
  const end = text.indexOf(markers.end)
  if (end < start) throw new Error(`${file}: '${markers.end}' comes before '${markers.start}'.`)
  const before = text.slice(0, start + markers.start.length)
  const after = text.slice(end)
  return `${before}\n${content}\n${after}`
}

/** README text with both tables and the copyable step regenerated from action.yml. */
export function updateReadme(actionYaml: string, readme: string): string {
  const metadata = parseActionMetadata(actionYaml)
  const withUsage = replaceBetweenMarkers(
    readme,
    README_USAGE_MARKERS,
    renderUsageYaml(metadata),
    'README.md'
  )
  const withInputs = replaceBetweenMarkers(
    withUsage,
    README_INPUT_MARKERS,
    renderInputsTable(metadata),
    'README.md'
  )
  return replaceBetweenMarkers(
    withInputs,
    README_OUTPUT_MARKERS,
    renderOutputsTable(metadata),
    'README.md'
  )
}

/** .env.example text with its INPUT_* block regenerated from action.yml. */
export function updateEnvExample(actionYaml: string, envExample: string): string {
  return replaceBetweenMarkers(
    envExample,
    ENV_INPUT_MARKERS,
    renderEnvInputs(parseActionMetadata(actionYaml)),
    '.env.example'
  )
}

/**
 * A short hint of how two versions of a file differ: the lines only the expected version has
 * (+) and the lines only the current one has (-), at most `limit` of each.
 */
export function diffHint(current: string, expected: string, limit = 10): string[] {
  const currentLines = current.split('\n')
  const expectedLines = expected.split('\n')
  const currentSet = new Set(currentLines)
  const expectedSet = new Set(expectedLines)
  const missing = expectedLines.filter(line => !currentSet.has(line))
  const stale = currentLines.filter(line => !expectedSet.has(line))
  const show = (sign: string, lines: string[]): string[] => [
    ...lines.slice(0, limit).map(line => `${sign} ${line}`),
    ...(lines.length > limit ? [`${sign} ... ${lines.length - limit} more line(s)`] : [])
  ]
  return [...show('-', stale), ...show('+', missing)]
}
