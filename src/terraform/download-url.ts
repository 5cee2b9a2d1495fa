/**
 * Which Terraform download URLs are accepted: https, and plain http only to this machine's loopback
 * (127.0.0.0/8, ::1, localhost), whose traffic never leaves the machine (a local mirror, the tests'
 * and the demo's). The signature on SHA256SUMS protects the contents either way; https keeps what is
 * downloaded, and from where, private on the network.
 */

/** True for localhost, 127.0.0.0/8 and ::1, as WHATWG URL spells hostnames (IPv4 normalised). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase()
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** Why a download URL is refused (the fix, as one clause), or undefined when it is accepted. */
export function downloadUrlProblem(url: URL): string | undefined {
  if (url.protocol === 'https:') return undefined
  if (url.protocol !== 'http:') return 'use an http(s) URL of a Terraform release mirror'
  if (isLoopbackHost(url.hostname)) return undefined
  return `plain http is refused (anyone on the way could see and delay what is downloaded); use https://${url.host}${url.pathname === '/' ? '' : url.pathname} (http is accepted only for a mirror on this machine: 127.0.0.0/8, ::1, localhost)`
}
