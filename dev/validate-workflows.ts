// Validates action.yml and the workflows with GitHub's own parser, @actions/workflow-parser (the
// library behind the Actions language service): schema, expressions, cron syntax, `needs`, the
// runtimes `runs.using` may name (node24 included).
//
//   tsx dev/validate-workflows.ts                 action.yml, examples/workflows/, .github/workflows/
//   tsx dev/validate-workflows.ts a.yml dir/ ...  those files (a file named action.y(a)ml is an action)
//   --strict-inputs   `with:` keys this action does not declare are errors (default: warnings)
//
// Prints `file:line:column: error: message` (and ::error annotations on a runner); exits 1 when
// any file has an error, 2 when the validator itself cannot run.
//
// Loading: the parser's ESM imports its JSON schemas without import attributes
// (`import ActionSchema from "../action-v1.0.min.json"`), which Node refuses. esbuild bundles it
// (JSON inlined) into a temporary CommonJS file that is then required; ESM output would not do,
// since the bundled `yaml` package calls require("process").
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import yaml from 'js-yaml'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const DEFAULT_TARGETS = ['action.yml', 'examples/workflows', '.github/workflows']
/** `uses:` values that mean this action: the local checkout or any ref of an owner/cloudfront-sg-sync repository. */
const SELF_USES = /^(?:\.\/?|[\w.-]+\/cloudfront-sg-sync(?:\/[\w./-]*)?@\S+)$/

export interface Problem {
  file: string
  line?: number
  column?: number
  severity: 'error' | 'warning'
  message: string
}

interface ValidationError {
  rawMessage: string
  range?: { start: { line: number; column: number } }
}
interface ParseResult {
  context: { errors: { getErrors(): ValidationError[] } }
  value: unknown
}
interface Parser {
  parseWorkflow(file: { name: string; content: string }, trace: unknown): ParseResult
  parseAction(file: { name: string; content: string }, trace: unknown): ParseResult
  convertWorkflowTemplate(context: unknown, root: unknown): Promise<unknown>
  NoOperationTraceWriter: new () => unknown
}

let parser: Promise<Parser> | undefined

/** Bundles @actions/workflow-parser to CommonJS once per process and loads it. */
export function loadParser(): Promise<Parser> {
  parser ??= (async () => {
    const result = await build({
      stdin: {
        contents: [
          "export { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } from '@actions/workflow-parser'",
          "export { parseAction } from '@actions/workflow-parser/actions/action-parser'"
        ].join('\n'),
        resolveDir: ROOT,
        loader: 'js'
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      logLevel: 'silent'
    })
    const directory = mkdtempSync(join(tmpdir(), 'workflow-parser-'))
    try {
      const file = join(directory, 'workflow-parser.cjs')
      writeFileSync(file, result.outputFiles[0]?.contents ?? '')
      return createRequire(import.meta.url)(file) as Parser
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })()
  return parser
}

function problemsOf(file: string, result: ParseResult): Problem[] {
  return result.context.errors.getErrors().map(error => ({
    file,
    ...(error.range ? { line: error.range.start.line, column: error.range.start.column } : {}),
    severity: 'error' as const,
    message: error.rawMessage.trim()
  }))
}

export async function validateAction(file: string, content: string): Promise<Problem[]> {
  const p = await loadParser()
  return problemsOf(file, p.parseAction({ name: file, content }, new p.NoOperationTraceWriter()))
}

/**
 * Parses a workflow, then converts it as the service does (which checks cron expressions, `needs`,
 * concurrency, workflow_dispatch input defaults...). `actionInputs`, when given, are the inputs of
 * this action: `with:` keys on steps that use it must be among them.
 */
export async function validateWorkflow(
  file: string,
  content: string,
  actionInputs?: Set<string>,
  strictInputs = false
): Promise<Problem[]> {
  const p = await loadParser()
  const result = p.parseWorkflow({ name: file, content }, new p.NoOperationTraceWriter())
  if (result.value !== undefined && result.context.errors.getErrors().length === 0) {
    await p.convertWorkflowTemplate(result.context, result.value)
  }
  const problems = problemsOf(file, result)
  if (problems.length === 0 && actionInputs) {
    problems.push(...checkInputs(file, content, actionInputs, strictInputs))
  }
  return problems
}

/** The input names declared by an action.yml (lower-cased: GitHub matches them case-insensitively). */
export function actionInputNames(content: string): Set<string> {
  const doc = yaml.load(content) as { inputs?: Record<string, unknown> } | undefined
  return new Set(Object.keys(doc?.inputs ?? {}).map(name => name.toLowerCase()))
}

function checkInputs(
  file: string,
  content: string,
  inputs: Set<string>,
  strict: boolean
): Problem[] {
  const doc = yaml.load(content) as {
    jobs?: Record<string, { steps?: { uses?: unknown; with?: Record<string, unknown> }[] }>
  }
  const lines = content.split('\n')
  const problems: Problem[] = []
  for (const job of Object.values(doc?.jobs ?? {})) {
    for (const step of job?.steps ?? []) {
      if (typeof step?.uses !== 'string' || !SELF_USES.test(step.uses)) continue
      for (const key of Object.keys(step.with ?? {})) {
        if (inputs.has(key.toLowerCase())) continue
        const index = lines.findIndex(line => new RegExp(`^\\s+${escape(key)}\\s*:`).test(line))
        problems.push({
          file,
          ...(index >= 0 ? { line: index + 1, column: (lines[index]?.search(/\S/) ?? 0) + 1 } : {}),
          severity: strict ? 'error' : 'warning',
          message: `Input '${key}' is not declared in action.yml (uses: ${step.uses})`
        })
      }
    }
  }
  return problems
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function isAction(path: string): boolean {
  return /^action\.ya?ml$/.test(basename(path))
}

/** Files named on the command line, directories expanded to their *.yml / *.yaml files. */
export function collectFiles(targets: string[], root = ROOT): string[] {
  const files: string[] = []
  for (const target of targets) {
    const path = resolve(root, target)
    let stat
    try {
      stat = statSync(path)
    } catch {
      continue // a default directory that does not exist yet
    }
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        if (/\.ya?ml$/.test(name)) files.push(join(path, name))
      }
    } else {
      files.push(path)
    }
  }
  return [...new Set(files)]
}

export async function validateFiles(
  files: string[],
  options: { strictInputs?: boolean; root?: string } = {}
): Promise<Problem[]> {
  const root = options.root ?? ROOT
  const actionFile = files.find(isAction) ?? join(root, 'action.yml')
  let inputs: Set<string> | undefined
  try {
    inputs = actionInputNames(readFileSync(actionFile, 'utf8'))
  } catch {
    inputs = undefined
  }
  const problems: Problem[] = []
  for (const file of files) {
    const name = relative(process.cwd(), file) || file
    const content = readFileSync(file, 'utf8')
    problems.push(
      ...(isAction(file)
        ? await validateAction(name, content)
        : await validateWorkflow(name, content, inputs, options.strictInputs))
    )
  }
  return problems
}

export function formatProblem(problem: Problem): string {
  const where = problem.line
    ? `${problem.file}:${problem.line}:${problem.column ?? 1}`
    : problem.file
  return `${where}: ${problem.severity}: ${problem.message}`
}

function annotation(problem: Problem): string {
  const props = [`file=${problem.file}`]
  if (problem.line) props.push(`line=${problem.line}`, `col=${problem.column ?? 1}`)
  const message = problem.message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
  return `::${problem.severity} ${props.join(',')}::${message}`
}

async function main(argv: string[]): Promise<number> {
  const strictInputs = argv.includes('--strict-inputs')
  const targets = argv.filter(arg => !arg.startsWith('--'))
  const files = collectFiles(
    targets.length > 0 ? targets : DEFAULT_TARGETS,
    targets.length > 0 ? process.cwd() : ROOT
  )
  if (files.length === 0) {
    process.stderr.write(
      `No files to validate in ${targets.join(', ') || DEFAULT_TARGETS.join(', ')}\n`
    )
    return 1
  }
  const problems = await validateFiles(files, { strictInputs })
  for (const problem of problems) {
    process.stdout.write(`${formatProblem(problem)}\n`)
    if (process.env.GITHUB_ACTIONS === 'true') process.stdout.write(`${annotation(problem)}\n`)
  }
  const errors = problems.filter(p => p.severity === 'error').length
  const warnings = problems.length - errors
  process.stdout.write(
    `${files.length} file(s) checked: ${errors} error(s), ${warnings} warning(s).\n`
  )
  return errors > 0 ? 1 : 0
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    code => {
      process.exitCode = code
    },
    (error: unknown) => {
      process.stderr.write(
        `validate-workflows failed: ${(error as Error)?.stack ?? String(error)}\n`
      )
      process.exitCode = 2
    }
  )
}
