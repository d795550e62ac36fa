// dev/pure-schemas.ts: the rewrite keeps what each schema evaluates to, and with it esbuild drops
// the EC2 shapes no kept command reaches while keeping those the sync reads.
import { build } from 'esbuild'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { markLiteralsPure, pureSchemas } from '../../dev/pure-schemas.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

// The shape of the SDK's generated schemas: string constants, hoisted thunks, computed keys and
// one statement with a real side effect.
const SCHEMAS = `const _K = "Key";
const _eQN = "ec2QueryName";
const n0 = "com.amazonaws.ec2";
const registry = [];
export var Tag$ = [3, n0, "Tag", 0, [_K], [[0, { [_eQN]: \`Key\` }]]];
export var TagList = [1, n0, "TagList", 0, [() => Tag$, { [_eQN]: \`Item\` }]];
var settings = { namespace: n0, [_K]: [1, 2] };
registry.push(Tag$);
export const count = registry.length;
`

async function evaluate(source: string): Promise<Record<string, unknown>> {
  const url = `data:text/javascript;base64,${Buffer.from(source).toString('base64')}`
  return (await import(url)) as Record<string, unknown>
}

describe('markLiteralsPure', () => {
  it('wraps each top-level array or object literal in a pure call, and nothing else', () => {
    const out = markLiteralsPure(SCHEMAS)
    expect(out.match(/\/\* @__PURE__ \*\//g)).toHaveLength(4)
    expect(out).toContain('var settings = /* @__PURE__ */ (() => ({ namespace: n0')
    expect(out).toContain('const _K = "Key";')
    expect(out).toContain('registry.push(Tag$);')
    expect(out).toContain('const registry = /* @__PURE__ */ (() => ([]))();')
  })

  it('leaves every exported value unchanged', async () => {
    const before = await evaluate(SCHEMAS)
    const after = await evaluate(markLiteralsPure(SCHEMAS))
    expect(JSON.stringify(after)).toBe(JSON.stringify(before))
    const tagList = after.TagList as [number, string, string, number, [() => unknown, object]]
    expect(tagList[4][0]()).toBe(after.Tag$)
    expect(after.count).toBe(1)
  })
})

describe('pureSchemas in an esbuild bundle of the EC2 client', () => {
  async function bundle(plugins: (typeof pureSchemas)[]): Promise<string> {
    const result = await build({
      stdin: {
        contents: `export { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2'`,
        resolveDir: ROOT,
        loader: 'ts'
      },
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      mainFields: ['module', 'main'],
      plugins,
      logLevel: 'silent'
    })
    return result.outputFiles[0]?.text ?? ''
  }

  it('keeps the shapes DescribeSecurityGroups reads and drops the rest', async () => {
    const [plain, pure] = await Promise.all([bundle([]), bundle([pureSchemas])])
    expect(plain).toContain('DescribeVpnConnectionsResult')
    expect(pure).not.toContain('DescribeVpnConnectionsResult')
    for (const shape of [
      'DescribeSecurityGroupsResult',
      'IpPermissionList',
      'Ipv6Range',
      'TagList'
    ]) {
      expect(pure).toContain(`"${shape}"`)
    }
    expect(pure.length).toBeLessThan(plain.length / 2)
  }, 120_000)
})
