import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import yaml from 'js-yaml'
import {
  diffHint,
  dotenvValue,
  inlineCode,
  inputVariable,
  NO_DEFAULT,
  parseActionMetadata,
  renderInputsTable,
  renderUsageYaml,
  replaceBetweenMarkers,
  updateEnvExample,
  updateReadme
} from '../../dev/action-docs.js'

const ACTION = `
name: Example
description: An example action.
inputs:
  regions:
    description: >-
      Regions to sync, separated by commas
      or newlines.
    required: false
    default: ''
  max-rules:
    description: Rules per group.
    default: 60
  protocol-ports:
    description: 'name=port pairs, like a|b'
    default: http=80,https=443
  token:
    description: A token.
    required: true
  old-input:
    description: Kept for compatibility.
    deprecationMessage: Use token instead.
outputs:
  changed:
    description: "'true' when rules changed."
  plan-file:
    description: Path of the plan.
runs:
  using: node24
  main: dist/index.js
`

const README = `# Title

Intro text stays.

<!-- action-docs-usage:start -->
<!-- action-docs-usage:end -->

## Inputs

<!-- action-docs-inputs:start -->
| stale | table |
<!-- action-docs-inputs:end -->

## Outputs

<!-- action-docs-outputs:start -->
<!-- action-docs-outputs:end -->

Trailing prose stays.
`

describe('parseActionMetadata', () => {
  test('reads inputs and outputs in file order, defaults as the strings the runner sees', () => {
    const metadata = parseActionMetadata(ACTION)
    expect(metadata.inputs.map(input => [input.name, input.default, input.required])).toEqual([
      ['regions', '', false],
      ['max-rules', '60', false],
      ['protocol-ports', 'http=80,https=443', false],
      ['token', '', true],
      ['old-input', '', false]
    ])
    expect(metadata.inputs[0]?.description).toBe(
      'Regions to sync, separated by commas or newlines.'
    )
    expect(metadata.inputs[4]?.deprecationMessage).toBe('Use token instead.')
    expect(metadata.outputs.map(output => output.name)).toEqual(['changed', 'plan-file'])
  })

  test('an action without inputs or outputs has empty lists', () => {
    expect(parseActionMetadata('name: x\nruns:\n  using: node24\n  main: a.js\n')).toEqual({
      inputs: [],
      outputs: []
    })
  })

  test('rejects a document that is not a mapping', () => {
    expect(() => parseActionMetadata('- a\n- b\n')).toThrow('not a YAML mapping')
  })
})

describe('updateReadme', () => {
  const updated = updateReadme(ACTION, README)

  test('rewrites both tables between the markers and nothing else', () => {
    expect(updated).toBe(`# Title

Intro text stays.

<!-- action-docs-usage:start -->
${renderUsageYaml(parseActionMetadata(ACTION))}
<!-- action-docs-usage:end -->

## Inputs

<!-- action-docs-inputs:start -->
| Input | Required | Default | Description |
| --- | --- | --- | --- |
| \`regions\` | no | ${NO_DEFAULT} | Regions to sync, separated by commas or newlines. |
| \`max-rules\` | no | \`60\` | Rules per group. |
| \`protocol-ports\` | no | \`http=80,https=443\` | name=port pairs, like a\\|b |
| \`token\` | **yes** | ${NO_DEFAULT} | A token. |
| \`old-input\` | no | ${NO_DEFAULT} | Kept for compatibility. **Deprecated:** Use token instead. |
<!-- action-docs-inputs:end -->

## Outputs

<!-- action-docs-outputs:start -->
| Output | Description |
| --- | --- |
| \`changed\` | 'true' when rules changed. |
| \`plan-file\` | Path of the plan. |
<!-- action-docs-outputs:end -->

Trailing prose stays.
`)
  })

  test('is idempotent', () => {
    expect(updateReadme(ACTION, updated)).toBe(updated)
  })

  test('a new input in action.yml shows up as a new row', () => {
    const withRole = ACTION.replace(
      'outputs:',
      '  role-to-assume:\n    description: IAM role ARN.\n    default: ""\noutputs:'
    )
    expect(updateReadme(withRole, updated)).toContain(
      `| \`role-to-assume\` | no | ${NO_DEFAULT} | IAM role ARN. |\n<!-- action-docs-inputs:end -->`
    )
  })

  test('a missing or doubled marker is an error, not a guess', () => {
    expect(() =>
      updateReadme(ACTION, README.replace('<!-- action-docs-outputs:end -->', ''))
    ).toThrow(
      "README.md must contain the marker '<!-- action-docs-outputs:end -->' exactly once (found 0)"
    )
    const doubled = `${README}\n<!-- action-docs-inputs:start -->\n`
    expect(() => updateReadme(ACTION, doubled)).toThrow('exactly once (found 2)')
  })

  test('reversed markers are an error', () => {
    expect(() =>
      replaceBetweenMarkers('<b>\n<a>\n', { start: '<a>', end: '<b>' }, 'x', 'f.md')
    ).toThrow("f.md: '<b>' comes before '<a>'.")
  })
})

describe('updateEnvExample', () => {
  const env = '# header\n# action-inputs:start\nold\n# action-inputs:end\nAWS_REGION=x\n'

  test('one commented INPUT_ line per input, hyphens kept, default as the value', () => {
    expect(updateEnvExample(ACTION, env)).toBe(
      [
        '# header',
        '# action-inputs:start',
        '# regions: Regions to sync, separated by commas or newlines.',
        'INPUT_REGIONS=',
        '',
        '# max-rules: Rules per group.',
        'INPUT_MAX-RULES=60',
        '',
        '# protocol-ports: name=port pairs, like a|b',
        'INPUT_PROTOCOL-PORTS=http=80,https=443',
        '',
        '# token (required): A token.',
        'INPUT_TOKEN=',
        '',
        '# old-input: Kept for compatibility.',
        'INPUT_OLD-INPUT=',
        '# action-inputs:end',
        'AWS_REGION=x',
        ''
      ].join('\n')
    )
  })
})

describe('helpers', () => {
  test('inputVariable follows the runner: spaces to underscores, upper case, hyphens kept', () => {
    expect(inputVariable('ip-ranges-url')).toBe('INPUT_IP-RANGES-URL')
    expect(inputVariable('my input')).toBe('INPUT_MY_INPUT')
  })

  test('dotenvValue quotes only what dotenv would misread', () => {
    expect(dotenvValue('http=80,https=443')).toBe('http=80,https=443')
    expect(dotenvValue('')).toBe('')
    expect(dotenvValue('a b')).toBe('"a b"')
    expect(dotenvValue('x#y')).toBe('"x#y"')
    expect(dotenvValue('say "hi"\nbye')).toBe('"say \\"hi\\"\\nbye"')
  })

  test('inlineCode survives backticks in the value', () => {
    expect(inlineCode('plain')).toBe('`plain`')
    expect(inlineCode('a`b')).toBe('``a`b``')
    expect(inlineCode('`x`')).toBe('`` `x` ``')
  })

  test('renderInputsTable flattens multi-line descriptions into one row', () => {
    const table = renderInputsTable({
      inputs: [{ name: 'a', description: 'line one\nline two', default: 'x', required: false }],
      outputs: []
    })
    expect(table.split('\n')[2]).toBe('| `a` | no | `x` | line one line two |')
  })

  test('renderUsageYaml is one step that parses as YAML, with every input at its default', () => {
    const metadata = parseActionMetadata(ACTION)
    const block = renderUsageYaml(metadata, 'o/r@v1')
    const lines = block.split('\n')
    expect(lines[0]).toBe('```yaml')
    expect(lines[lines.length - 1]).toBe('```')
    const steps = yaml.load(lines.slice(1, -1).join('\n')) as { uses: string; with: object }[]
    expect(steps).toEqual([
      {
        uses: 'o/r@v1',
        with: Object.fromEntries(metadata.inputs.map(input => [input.name, input.default]))
      }
    ])
    expect(block).toContain("    # A token. Required.\n    token: ''")
    expect(lines.every(line => line.length <= 100)).toBe(true)
  })

  test("renderUsageYaml quotes what YAML would misread: quotes, '${{ }}', newlines", () => {
    const block = renderUsageYaml({
      inputs: [
        { name: 'a', description: 'd', default: "it's", required: false },
        { name: 'b', description: 'd', default: '${{ github.token }}', required: false },
        { name: 'c', description: 'd', default: 'x\ny', required: false }
      ],
      outputs: []
    })
    const steps = yaml.load(block.split('\n').slice(1, -1).join('\n')) as { with: object }[]
    expect(steps[0]?.with).toEqual({ a: "it's", b: '${{ github.token }}', c: 'x\ny' })
  })

  test("action.yml's description fits the Marketplace form (under 125 characters)", () => {
    const root = fileURLToPath(new URL('../../', import.meta.url))
    const action = yaml.load(readFileSync(`${root}action.yml`, 'utf8')) as { description: string }
    expect(action.description.length).toBeLessThan(125)
  })

  test('the README carries the generated block (npm run docs -- --check)', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url))
    const readme = readFileSync(`${root}README.md`, 'utf8')
    const action = readFileSync(`${root}action.yml`, 'utf8')
    expect(readme).toContain(renderUsageYaml(parseActionMetadata(action)))
    expect(updateReadme(action, readme)).toBe(readme)
  })

  test('diffHint lists stale (-) and missing (+) lines', () => {
    expect(diffHint('a\nb\nc', 'a\nB\nc')).toEqual(['- b', '+ B'])
    expect(diffHint('same', 'same')).toEqual([])
  })
})
