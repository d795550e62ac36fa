// Loads a CloudFormation YAML template with its short-form intrinsic functions (`!Ref x`,
// `!GetAtt a.b`, `!Sub ...`, `!If [...]`) turned into their long forms (`{ Ref: x }`,
// `{ 'Fn::GetAtt': ['a', 'b'] }`, ...), so tests can assert on plain objects.
import { readFileSync } from 'node:fs'
import { DEFAULT_SCHEMA, Type, load } from 'js-yaml'

export type CfnDoc = Record<string, unknown>

export interface CfnResource {
  Type: string
  Properties?: CfnDoc
  Condition?: string
}

export interface CfnTemplate extends CfnDoc {
  Parameters?: Record<string, CfnDoc>
  Conditions?: CfnDoc
  Rules?: CfnDoc
  Resources: Record<string, CfnResource>
  Outputs?: Record<string, CfnDoc>
}

const FUNCTIONS = [
  'And',
  'Base64',
  'Cidr',
  'Equals',
  'FindInMap',
  'GetAZs',
  'If',
  'ImportValue',
  'Join',
  'Not',
  'Or',
  'Select',
  'Split',
  'Sub',
  'Transform',
  'GetAtt',
  'Ref',
  'Condition'
]

const CFN_SCHEMA = DEFAULT_SCHEMA.extend(
  FUNCTIONS.flatMap(fn => {
    const key = fn === 'Ref' || fn === 'Condition' ? fn : `Fn::${fn}`
    return (['scalar', 'sequence', 'mapping'] as const).map(
      kind =>
        new Type(`!${fn}`, {
          kind,
          construct: (data: unknown) =>
            fn === 'GetAtt' && typeof data === 'string'
              ? { [key]: data.split('.', 2) }
              : { [key]: data }
        })
    )
  })
)

/** Parses CloudFormation YAML text. */
export function parseCfnYaml(text: string): CfnTemplate {
  return load(text, { schema: CFN_SCHEMA }) as CfnTemplate
}

/** Reads and parses a template file. */
export function loadCfnTemplate(path: string): CfnTemplate {
  return parseCfnYaml(readFileSync(path, 'utf8'))
}

/** The resources of one type, as [logical id, properties] pairs. */
export function resourcesOfType(template: CfnTemplate, type: string): Array<[string, CfnDoc]> {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([name, resource]) => [name, resource.Properties ?? {}])
}
