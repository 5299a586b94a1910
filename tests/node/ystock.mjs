// A stock Yjs client: npm's y-websocket WebsocketProvider with yjs, exactly as any Yjs app would
// use it, pointed at a BandSync host's plain y-sync endpoint. Driven by tests/ystock.rs.
//
//   node ystock.mjs ws://HOST:PORT/doc SESSION SECRET SONG_ID WAIT_FOR
//
// Prints one JSON line per event: synced (with the chart as it arrived), edited, saw (when the
// chart contains WAIT_FOR). Exits 0 after `saw`, 1 on timeout or error.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

const [serverUrl, session, secret, songId, waitFor] = process.argv.slice(2)
const say = (o) => console.log(JSON.stringify(o))
const doc = new Y.Doc()
const provider = new WebsocketProvider(serverUrl, session, doc, {
  WebSocketPolyfill: WebSocket,
  params: { k: secret },
  disableBc: true,
})
const charts = doc.getMap('charts')
const timer = setTimeout(() => {
  say({ event: 'timeout', chart: charts.get(songId)?.toString() ?? null })
  process.exit(1)
}, 15000)

provider.on('connection-close', (e) => say({ event: 'closed', code: e?.code, reason: e?.reason }))
provider.once('sync', (synced) => {
  const text = charts.get(songId)
  say({ event: 'synced', synced, chart: text ? text.toString() : null })
  if (!text) {
    say({ event: 'error', message: `no chart ${songId}` })
    process.exit(1)
  }
  text.insert(text.length, ' [G]from node')
  say({ event: 'edited' })
  const check = () => {
    if (text.toString().includes(waitFor)) {
      say({ event: 'saw', chart: text.toString() })
      clearTimeout(timer)
      provider.destroy()
      process.exit(0)
    }
  }
  text.observe(check)
  check()
})
