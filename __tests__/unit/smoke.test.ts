import { IP_FAMILIES } from '../../src/types.js'
import * as core from '@actions/core'
test('esm', () => {
  expect(IP_FAMILIES).toEqual(['ipv4', 'ipv6'])
  expect(typeof core.getInput).toBe('function')
})
