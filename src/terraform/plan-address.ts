/** Resource addresses: the address of a plan entry, and the reading order they are listed in. */
import type { JsonObject } from '../json'
import type { ResourceChange } from './plan'

/** Sorts in place by address in reading order ({@link compareAddresses}), then deposed key. */
export function sortByAddress(list: ResourceChange[]): void {
  const keyed = list.map(r => ({ r, key: addressKey(r.address) }))
  keyed.sort((x, y) => {
    if (x.key !== y.key) return x.key < y.key ? -1 : 1
    if (x.r.address !== y.r.address) return x.r.address < y.r.address ? -1 : 1
    const da = x.r.deposed ?? ''
    const db = y.r.deposed ?? ''
    return da < db ? -1 : da > db ? 1 : 0
  })
  keyed.forEach((k, i) => (list[i] = k.r))
}

/**
 * Addresses in reading order: numeric indexes by value (`[2]` before `[10]`, and before string
 * keys), everything else (names, string keys) by code unit.
 */
export function compareAddresses(a: string, b: string): number {
  const ka = addressKey(a)
  const kb = addressKey(b)
  if (ka !== kb) return ka < kb ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

/** The address with each numeric index zero-padded behind \u0001 (so it sorts before `["`): a key
 * whose code-unit order is the reading order. */
function addressKey(address: string): string {
  return address.includes('[')
    ? address.replace(/\[(\d+)\]/g, (_, n: string) => `[\u0001${n.padStart(16, '0')}]`)
    : address
}

/**
 * The entry's `address`; for drift entries without one (Terraform 0.15 to 1.0), the address made
 * from `module_address`, `mode`, `type`, `name` and `index` as Terraform prints it.
 */
export function addressOf(item: JsonObject, rebuild: boolean): string | undefined {
  const address = item['address']
  if (typeof address === 'string' && address !== '') return address
  const { module_address: moduleAddress, mode, type, name, index } = item
  if (!rebuild || typeof type !== 'string' || typeof name !== 'string' || !type || !name) {
    return undefined
  }
  let built = `${mode === 'data' ? 'data.' : ''}${type}.${name}`
  if (typeof moduleAddress === 'string' && moduleAddress !== '') built = `${moduleAddress}.${built}`
  if (typeof index === 'number') built += `[${index}]`
  else if (typeof index === 'string') built += `[${JSON.stringify(index)}]`
  return built
}
