// A minimal MQTT 3.1.1 client over WebSocket (subprotocol "mqtt"), enough to receive
// telemetry: CONNECT (clean session), SUBSCRIBE at QoS 0, PUBLISH received (QoS 1 is
// acknowledged should a broker send it), PINGREQ keepalive, reconnect with back-off.
// MQTT packets and WebSocket messages need not line up: a packet may be split over
// several messages and a message may hold several packets, so bytes are buffered and
// cut into packets by their remaining-length prefix.

const CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, SUBSCRIBE = 8, SUBACK = 9;
const PINGREQ = 12, PINGRESP = 13, DISCONNECT = 14;

const CONNACK_ERRORS = [
  "",
  "unacceptable protocol version",
  "client identifier rejected",
  "server unavailable",
  "bad user name or password",
  "not authorised",
];

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A UTF-8 string with its 16-bit length prefix. */
function str(s) {
  const b = utf8.encode(s);
  if (b.length > 0xffff) throw new Error("MQTT string longer than 65535 bytes");
  return [b.length >> 8, b.length & 0xff, ...b];
}

/** One packet: fixed header (type, flags, remaining length) and body. */
export function packet(type, flags, body) {
  const head = [(type << 4) | flags];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    head.push(byte);
  } while (n > 0);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

export function connectPacket(clientId, keepAliveS) {
  const body = [...str("MQTT"), 4, 0x02 /* clean session */, keepAliveS >> 8, keepAliveS & 0xff,
    ...str(clientId)];
  return packet(CONNECT, 0, body);
}

export function subscribePacket(id, filters) {
  const body = [id >> 8, id & 0xff];
  for (const f of filters) body.push(...str(f), 0 /* QoS 0 */);
  return packet(SUBSCRIBE, 0x2, body);
}

/**
 * Cuts a byte stream into MQTT packets. `push(bytes)` returns the complete packets
 * ({type, flags, body}) so far; a partial packet waits for the next bytes.
 */
export class PacketReader {
  constructor(maxPacket = 1 << 20) {
    this.buf = new Uint8Array(0);
    this.maxPacket = maxPacket;
  }

  push(bytes) {
    if (this.buf.length === 0) this.buf = bytes;
    else {
      const joined = new Uint8Array(this.buf.length + bytes.length);
      joined.set(this.buf, 0);
      joined.set(bytes, this.buf.length);
      this.buf = joined;
    }
    const out = [];
    let at = 0;
    for (;;) {
      const head = this.header(at);
      if (!head) break;
      const [len, headLen] = head;
      if (len > this.maxPacket) throw new Error(`MQTT packet of ${len} bytes is over the ${this.maxPacket}-byte limit`);
      if (this.buf.length - at < headLen + len) break;
      const b0 = this.buf[at];
      out.push({ type: b0 >> 4, flags: b0 & 0xf, body: this.buf.subarray(at + headLen, at + headLen + len) });
      at += headLen + len;
    }
    this.buf = this.buf.slice(at);
    return out;
  }

  /** [remaining length, header length] of the packet at `at`, or null if incomplete. */
  header(at) {
    let len = 0, mult = 1;
    for (let i = 1; i <= 4; i++) {
      if (at + i >= this.buf.length) return null;
      const b = this.buf[at + i];
      len += (b & 0x7f) * mult;
      if ((b & 0x80) === 0) return [len, i + 1];
      mult *= 128;
    }
    throw new Error("MQTT remaining length longer than 4 bytes");
  }
}

/** A PUBLISH packet's topic, packet id (QoS > 0) and payload bytes. */
export function readPublish({ flags, body }) {
  const qos = (flags >> 1) & 3;
  if (body.length < 2) throw new Error("PUBLISH too short");
  const tlen = (body[0] << 8) | body[1];
  if (body.length < 2 + tlen) throw new Error("PUBLISH topic runs past the packet");
  const topic = fromUtf8.decode(body.subarray(2, 2 + tlen));
  let at = 2 + tlen;
  let id = 0;
  if (qos > 0) {
    if (body.length < at + 2) throw new Error("PUBLISH packet id missing");
    id = (body[at] << 8) | body[at + 1];
    at += 2;
  }
  return { topic, qos, id, payload: body.subarray(at) };
}

/**
 * The client. `status(state, detail)` reports "connecting", "connected", "closed"
 * (with the reason; a reconnect follows) and "error"; `message(topic, payload)` gets
 * each PUBLISH (payload: Uint8Array).
 */
export class MqttClient {
  constructor(url, { clientId, filters = ["twin/#"], keepAliveS = 30, message, status }) {
    this.url = url;
    this.clientId = clientId ?? `twin-web-${Math.random().toString(36).slice(2, 10)}`;
    this.filters = filters;
    this.keepAliveS = keepAliveS;
    this.onMessage = message;
    this.onStatus = status;
    this.retryMs = 1000;
    this.stopped = false;
    this.received = 0;
    this.open();
  }

  open() {
    this.onStatus("connecting", this.url);
    let ws;
    try {
      ws = new WebSocket(this.url, "mqtt");
    } catch (e) {
      this.onStatus("error", e.message);
      return this.retry();
    }
    ws.binaryType = "arraybuffer";
    const reader = new PacketReader();
    this.ws = ws;
    this.connected = false;
    ws.onopen = () => ws.send(connectPacket(this.clientId, this.keepAliveS));
    ws.onmessage = (ev) => {
      try {
        for (const p of reader.push(new Uint8Array(ev.data))) this.handle(p);
      } catch (e) {
        this.onStatus("error", e.message);
        ws.close();
      }
    };
    ws.onerror = () => this.onStatus("error", `WebSocket error on ${this.url}`);
    ws.onclose = (ev) => {
      clearInterval(this.pinger);
      if (this.ws !== ws) return;
      this.connected = false;
      this.onStatus("closed", ev.reason || `WebSocket closed (code ${ev.code})`);
      this.retry();
    };
  }

  retry() {
    if (this.stopped) return;
    setTimeout(() => this.stopped || this.open(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 30000);
  }

  handle(p) {
    switch (p.type) {
      case CONNACK: {
        const code = p.body[1];
        if (code !== 0) throw new Error(`broker refused the connection: ${CONNACK_ERRORS[code] ?? code}`);
        this.connected = true;
        this.retryMs = 1000;
        this.ws.send(subscribePacket(1, this.filters));
        this.lastPong = Date.now();
        this.pinger = setInterval(() => this.ping(), (this.keepAliveS * 1000) / 2);
        break;
      }
      case SUBACK: {
        const refused = [...p.body.subarray(2)].some((c) => c === 0x80);
        if (refused) throw new Error(`broker refused the subscription to ${this.filters.join(", ")}`);
        this.onStatus("connected", `${this.url}, subscribed to ${this.filters.join(", ")}`);
        break;
      }
      case PUBLISH: {
        const m = readPublish(p);
        if (m.qos === 1) this.ws.send(packet(PUBACK, 0, [m.id >> 8, m.id & 0xff]));
        this.received++;
        this.onMessage(m.topic, m.payload);
        break;
      }
      case PINGRESP:
        this.lastPong = Date.now();
        break;
      default:
        break; // nothing else is expected at QoS 0
    }
  }

  ping() {
    if (Date.now() - this.lastPong > this.keepAliveS * 1500) {
      this.onStatus("error", "no PINGRESP from the broker");
      this.ws.close();
      return;
    }
    this.ws.send(packet(PINGREQ, 0, []));
  }

  close() {
    this.stopped = true;
    clearInterval(this.pinger);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(packet(DISCONNECT, 0, []));
    this.ws?.close();
  }
}

/**
 * The readings of one telemetry message (`twin publish`): topic
 * `twin/<town>/<kind>/<asset-id>` (levels %XX-escaped) and a JSON payload, either
 * compact `{"ts", "quality"?, <channel>: value, ...}` or one reading
 * `{"id", "channel", "ts", "value"}`. Returns readings `{id, channel, ts, value,
 * quality?}` as `Twin.applyJson` takes them; throws with the reason otherwise.
 */
export function readingsOf(topic, payload) {
  const levels = topic.split("/");
  if (levels.length !== 4 || levels[0] !== "twin") throw new Error(`topic ${topic} is not twin/<town>/<kind>/<id>`);
  let id;
  try {
    id = decodeURIComponent(levels[3]);
  } catch {
    throw new Error(`topic ${topic}: bad %-escape in the asset id`);
  }
  const msg = JSON.parse(typeof payload === "string" ? payload : fromUtf8.decode(payload));
  if (msg === null || typeof msg !== "object" || Array.isArray(msg)) throw new Error("payload is not a JSON object");
  if (typeof msg.channel === "string") {
    if (msg.id !== id) throw new Error(`payload id ${msg.id} is not the topic's asset ${id}`);
    return [msg];
  }
  let ts = msg.ts;
  if (typeof ts === "string") ts = Date.parse(ts);
  if (typeof ts !== "number" || !Number.isFinite(ts)) throw new Error("payload has no valid ts");
  const out = [];
  for (const [channel, value] of Object.entries(msg)) {
    if (channel === "ts" || channel === "quality") continue;
    const r = { id, channel, ts, value };
    if (msg.quality !== undefined) r.quality = msg.quality;
    out.push(r);
  }
  if (out.length === 0) throw new Error("no channel in the payload");
  return out;
}
