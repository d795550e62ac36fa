// Zips the bundle (forwarder/dist/index.js + its package.json {"type":"module"}) into
// forwarder/dist/forwarder.zip, the deployment package for the Lambda function (handler
// index.handler). The zip is deterministic (fixed timestamps, fixed order), so its SHA-256 only
// changes with the code: use it in the S3 key and CloudFormation deploys new code exactly when
// there is new code. Written with node:zlib, so packaging needs no `zip` binary.
//
// Usage: tsx forwarder/scripts/package.ts   (after `npm run bundle:forwarder`)
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { crc32, deflateRawSync } from 'node:zlib'

const dist = fileURLToPath(new URL('../dist/', import.meta.url))
const FILES = ['index.js', 'package.json']
// 1980-01-01 00:00, the DOS epoch: the same bytes on every build.
const DOS_TIME = 0
const DOS_DATE = (0 << 9) | (1 << 5) | 1

function zip(entries: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const { name, data } of entries) {
    const nameBuf = Buffer.from(name, 'utf8')
    const packed = deflateRawSync(data, { level: 9 })
    const crc = crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4) // version needed
    local.writeUInt16LE(0x0800, 6) // UTF-8 names
    local.writeUInt16LE(8, 8) // deflate
    local.writeUInt16LE(DOS_TIME, 10)
    local.writeUInt16LE(DOS_DATE, 12)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(packed.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(nameBuf.length, 26)
    local.writeUInt16LE(0, 28)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE((3 << 8) | 20, 4) // made by Unix, spec 2.0
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(0x0800, 8)
    central.writeUInt16LE(8, 10)
    central.writeUInt16LE(DOS_TIME, 12)
    central.writeUInt16LE(DOS_DATE, 14)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(packed.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(nameBuf.length, 28)
    central.writeUInt16LE(0, 30) // extra
    central.writeUInt16LE(0, 32) // comment
    central.writeUInt16LE(0, 34) // disk
    central.writeUInt16LE(0, 36) // internal attrs
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38) // -rw-r--r--
    central.writeUInt32LE(offset, 42)
    locals.push(local, nameBuf, packed)
    centrals.push(central, nameBuf)
    offset += local.length + nameBuf.length + packed.length
  }
  const centralDir = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(centralDir.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, centralDir, end])
}

const entries = FILES.map(name => ({ name, data: readFileSync(`${dist}${name}`) }))
const pkg = JSON.parse(entries[1]?.data.toString() ?? '{}') as { type?: string }
if (pkg.type !== 'module') throw new Error('dist/package.json must say "type": "module"')
const archive = zip(entries)
const out = `${dist}forwarder.zip`
writeFileSync(out, archive)
const sha = createHash('sha256').update(archive).digest('hex')
process.stdout.write(
  `${out}\n${archive.length} bytes, sha256 ${sha}\nsuggested S3 key: sns-forwarder/${sha.slice(0, 16)}.zip\n`
)
