#!/usr/bin/env node
// Independent check of an MCAP file with Foxglove's @mcap/core: streams every record (CRCs validated),
// opens the summary with the indexed reader, decodes each JSON message, and prints one JSON summary.
// Usage: node check.js FILE   (exit 0 when the file is valid, 1 with "ok": false and the errors otherwise)
"use strict";
const fs = require("fs");
const { McapStreamReader, McapIndexedReader } = require("@mcap/core");

const str = (v) => (typeof v === "bigint" ? v.toString() : v);

async function main(path) {
  const result = { ok: true, file: path, errors: [], header: null, schemas: [], channels: [], message_count: 0, statistics: null };
  const bytes = fs.readFileSync(path);
  const stream = new McapStreamReader({ validateCrcs: true });
  stream.append(bytes);
  const schemas = new Map();
  const channels = new Map();
  let footer = false;
  try {
    for (let record; (record = stream.nextRecord()); ) {
      switch (record.type) {
        case "Header":
          result.header = { profile: record.profile, library: record.library };
          break;
        case "Schema":
          if (!schemas.has(record.id)) {
            schemas.set(record.id, record);
            result.schemas.push({ id: record.id, name: record.name, encoding: record.encoding, json_schema_valid: isJson(record.data) });
          }
          break;
        case "Channel":
          if (!channels.has(record.id)) {
            const entry = { id: record.id, topic: record.topic, message_encoding: record.messageEncoding, schema: schemas.get(record.schemaId)?.name ?? null,
              metadata: Object.fromEntries(record.metadata), messages: 0, first_log_time: null, last_log_time: null, log_times_monotonic: true, decode_errors: 0 };
            channels.set(record.id, entry);
            result.channels.push(entry);
          }
          break;
        case "Message": {
          const c = channels.get(record.channelId);
          if (!c) { result.errors.push(`message on unknown channel ${record.channelId}`); break; }
          c.messages++;
          result.message_count++;
          if (c.last_log_time !== null && record.logTime < BigInt(c.last_log_time)) c.log_times_monotonic = false;
          if (c.first_log_time === null) c.first_log_time = str(record.logTime);
          c.last_log_time = str(record.logTime);
          if (!decodes(c, record.data)) c.decode_errors++;
          break;
        }
        case "Footer":
          footer = true;
          break;
      }
    }
    if (!stream.done()) result.errors.push("stream reader did not reach the end of the file (truncated?)");
    if (!footer) result.errors.push("no footer record");
  } catch (e) {
    result.errors.push(`stream reader: ${e.message}`);
  }
  try {
    const readable = { size: async () => BigInt(bytes.length), read: async (offset, size) => bytes.subarray(Number(offset), Number(offset + size)) };
    const indexed = await McapIndexedReader.Initialize({ readable });
    const s = indexed.statistics;
    if (s) {
      result.statistics = { message_count: str(s.messageCount), schema_count: s.schemaCount, channel_count: s.channelCount,
        message_start_time: str(s.messageStartTime), message_end_time: str(s.messageEndTime),
        channel_message_counts: Object.fromEntries([...s.channelMessageCounts].map(([k, v]) => [k, str(v)])) };
      if (BigInt(s.messageCount) !== BigInt(result.message_count)) result.errors.push(`statistics say ${s.messageCount} messages, the data section has ${result.message_count}`);
    } else {
      result.errors.push("summary has no statistics record");
    }
  } catch (e) {
    result.errors.push(`indexed reader: ${e.message}`);
  }
  for (const c of result.channels) {
    if (c.decode_errors > 0) result.errors.push(`${c.topic}: ${c.decode_errors} messages do not decode as ${c.schema}`);
    if (!c.log_times_monotonic) result.errors.push(`${c.topic}: log times go backwards`);
  }
  result.ok = result.errors.length === 0;
  return result;
}

function isJson(data) {
  try { JSON.parse(Buffer.from(data).toString("utf8")); return true; } catch { return false; }
}

// Decodes a JSON message and checks the fields its schema promises, including the payload size.
function decodes(channel, data) {
  let m;
  try { m = JSON.parse(Buffer.from(data).toString("utf8")); } catch { return false; }
  if (!m.timestamp || typeof m.timestamp.sec !== "number" || typeof m.timestamp.nsec !== "number") return false;
  const payload = typeof m.data === "string" ? Buffer.from(m.data, "base64").length : -1;
  switch (channel.schema) {
    case "foxglove.RawImage":
      return Number.isInteger(m.width) && Number.isInteger(m.height) && payload === m.step * m.height;
    case "edgebind.AudioBlock":
      return payload === m.count * m.channels * 4;
    case "edgebind.ImuBlock":
      return payload === m.count * 6 * 4 && Array.isArray(m.t_offset_ns) && m.t_offset_ns.length === m.count;
    default:
      return true;
  }
}

if (process.argv.length < 3) {
  console.error("usage: node check.js FILE.mcap");
  process.exit(2);
}
main(process.argv[2]).then(
  (r) => { console.log(JSON.stringify(r, null, 2)); process.exit(r.ok ? 0 : 1); },
  (e) => { console.log(JSON.stringify({ ok: false, errors: [e.message] })); process.exit(1); });
