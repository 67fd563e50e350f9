/**
 * The protobuf schema of the wire (`wsgw.v1.proto` subprotocol) and of the Kafka envelope.
 * Kept as a string so that the compiled package needs no asset copying; `docs/protocol.md`
 * reproduces it for people writing clients in other languages.
 */
export const PROTO_SCHEMA = `
syntax = "proto3";
package wsgw.v1;

// The value of every record on the wsgw.fanout.<region> topics. The record key is the channel.
message Envelope {
  uint32 version = 1;       // 1; records of any other version are counted and skipped
  string id = 2;            // unique message id, assigned at the origin
  string channel = 3;
  string origin = 4;        // origin region
  string node = 5;          // origin gateway task
  uint64 ts = 6;            // milliseconds since the epoch at the origin
  string content_type = 7;  // "application/json" or "application/octet-stream"
  bytes payload = 8;
}

// Client to server.
message ClientFrame {
  uint32 id = 1;            // optional request id; 0 means none
  oneof op {
    Sub sub = 2;
    Unsub unsub = 3;
    Pub pub = 4;
    Ping ping = 5;
  }
}
message Sub { string ch = 1; map<string, string> since = 2; }
message Unsub { string ch = 1; }
// mid: optional message id chosen by the client (8-64 of A-Z a-z 0-9 _ -): a publish retried
// with the same mid is delivered once (docs/protocol.md, Idempotent publishing).
message Pub { string ch = 1; bytes data = 2; string content_type = 3; string mid = 4; }
message Ping {}

// Server to client.
message ServerFrame {
  oneof op {
    Ack ack = 1;
    Error error = 2;
    Msg msg = 3;
    Pong pong = 4;
  }
}
// For sub: recovered is set when the sub carried "since" (true: what was missed was sent before
// this ack; false: the gateway cannot vouch for the gap), and pos is the channel's position to
// resume from later: the newest id per origin, and the sync point ("@", "@<origin>").
message Ack { uint32 id = 1; optional bool recovered = 2; map<string, string> pos = 3; }
message Error { uint32 id = 1; string code = 2; string message = 3; }
message Msg { string ch = 1; bytes data = 2; map<string, string> pos = 3; string content_type = 4; }
// ts: the gateway's sync point (ms): every message stamped at or before it, of every origin not in
// w, was written to this connection before the pong; w: origins that lag behind ts, with theirs.
message Pong { uint32 id = 1; uint64 ts = 2; map<string, uint64> w = 3; }
`;
