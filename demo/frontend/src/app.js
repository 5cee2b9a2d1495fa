/* global document, fetch */
// The demo app: shows today's callbacks from the API, or a sample list when the API cannot be
// reached (as in the local demo, where api_url points at nothing).

const SAMPLE = [
  { customer: 'Dana Whitfield', vehicle: '2017 Subaru Outback', reason: 'Brake pads follow-up' },
  { customer: 'Luis Moreno', vehicle: '2020 Ford F-150', reason: 'Estimate for timing belt' },
  { customer: 'Priya Natarajan', vehicle: '2015 Honda Fit', reason: '30-day check-in' }
]

// VITE_API_URL is written into the page at build time. A config.json next to index.html (the
// action's `config-file` input) wins, so one build can serve several environments.
async function apiUrl() {
  let url = document.querySelector('meta[name="api-url"]')?.getAttribute('content') ?? ''
  try {
    const response = await fetch('config.json', { cache: 'no-store' })
    if (response.ok) {
      const config = await response.json()
      if (typeof config.VITE_API_URL === 'string' && config.VITE_API_URL !== '') {
        url = config.VITE_API_URL
      }
    }
  } catch {
    // No config.json (or the SPA fallback answered with index.html): keep the build-time value.
  }
  return url.replace(/\/+$/, '')
}

function render(callbacks) {
  const list = document.getElementById('callbacks')
  list.replaceChildren(
    ...callbacks.map(item => {
      const li = document.createElement('li')
      const who = document.createElement('span')
      who.textContent = `${item.customer} · ${item.vehicle}`
      const why = document.createElement('span')
      why.className = 'muted'
      why.textContent = item.reason
      li.append(who, why)
      return li
    })
  )
  document.getElementById('empty').hidden = callbacks.length > 0
}

function status(state, text) {
  const badge = document.getElementById('api-status')
  badge.dataset.state = state
  badge.textContent = text
}

async function main() {
  const base = await apiUrl()
  document.getElementById('api-url').textContent = base || 'not set'
  if (base === '') {
    status('unknown', 'API: not configured')
    render(SAMPLE)
    return
  }
  try {
    const response = await fetch(`${base}/callbacks?due=today`, {
      headers: { accept: 'application/json' }
    })
    if (!response.ok) throw new Error(`HTTP ${response.status}`)
    render(await response.json())
    status('up', 'API: online')
  } catch {
    status('down', 'API: unreachable, showing sample data')
    render(SAMPLE)
  }
}

main()
