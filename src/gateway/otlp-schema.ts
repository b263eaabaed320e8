/**
 * The OTLP messages the gateway reads and writes, as protobuf schema text for protobufjs to parse at start-up.
 *
 * Written from the OpenTelemetry protocol's message definitions (opentelemetry-proto: common/v1, resource/v1,
 * logs/v1, trace/v1, collector/logs/v1, collector/trace/v1) and from google/rpc/status.proto,
 * google/rpc/error_details.proto (RetryInfo), google/protobuf/any.proto and duration.proto; field numbers and
 * types are those of the protocol. Only the fields the gateway uses are declared: protobuf skips every other
 * field by its wire type, so severity, flags, links, scope and the like cost nothing to decode.
 */
export const OTLP_PROTO = `
syntax = "proto3";

package opentelemetry.proto.common.v1;

// The protocol declares these seven fields as one oneof. On the wire a oneof is nothing but its members'
// fields, each with presence; they are declared as proto3 \`optional\` fields here, which keeps presence (an
// int_value of 0 is a 0, not an empty value) without protobufjs's oneof bookkeeping, which deletes the other six
// members on every value it decodes (that made decoding a quarter slower). The reader takes the field that was
// set, and the last one if a sender set several, as a oneof would.
message AnyValue {
  optional string string_value = 1;
  optional bool bool_value = 2;
  optional int64 int_value = 3;
  optional double double_value = 4;
  optional ArrayValue array_value = 5;
  optional KeyValueList kvlist_value = 6;
  optional bytes bytes_value = 7;
}

message ArrayValue {
  repeated AnyValue values = 1;
}

message KeyValueList {
  repeated KeyValue values = 1;
}

message KeyValue {
  string key = 1;
  AnyValue value = 2;
}
`;

export const OTLP_RESOURCE_PROTO = `
syntax = "proto3";

package opentelemetry.proto.resource.v1;

message Resource {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 1;
}
`;

export const OTLP_LOGS_PROTO = `
syntax = "proto3";

package opentelemetry.proto.logs.v1;

message ResourceLogs {
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeLogs scope_logs = 2;
}

// Declared as bytes: an embedded message is length-delimited bytes on the wire, so each LogRecord (and each
// Span below) is decoded on its own when it is read. The objects of one record then die young; decoding a whole
// request's tree at once kept it alive through the garbage collector's young generation, and cost about five
// times as much.
message ScopeLogs {
  repeated bytes log_records = 2;
}

message LogRecord {
  fixed64 time_unix_nano = 1;
  fixed64 observed_time_unix_nano = 11;
  opentelemetry.proto.common.v1.AnyValue body = 5;
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 6;
  string event_name = 12;
}
`;

export const OTLP_TRACE_PROTO = `
syntax = "proto3";

package opentelemetry.proto.trace.v1;

message ResourceSpans {
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
}

message ScopeSpans {
  repeated bytes spans = 2;
}

message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 9;
  repeated Event events = 11;

  message Event {
    fixed64 time_unix_nano = 1;
    string name = 2;
    repeated opentelemetry.proto.common.v1.KeyValue attributes = 3;
  }
}
`;

export const OTLP_COLLECTOR_LOGS_PROTO = `
syntax = "proto3";

package opentelemetry.proto.collector.logs.v1;

message ExportLogsServiceRequest {
  repeated opentelemetry.proto.logs.v1.ResourceLogs resource_logs = 1;
}

message ExportLogsServiceResponse {
  ExportLogsPartialSuccess partial_success = 1;
}

message ExportLogsPartialSuccess {
  int64 rejected_log_records = 1;
  string error_message = 2;
}
`;

export const OTLP_COLLECTOR_TRACE_PROTO = `
syntax = "proto3";

package opentelemetry.proto.collector.trace.v1;

message ExportTraceServiceRequest {
  repeated opentelemetry.proto.trace.v1.ResourceSpans resource_spans = 1;
}

message ExportTraceServiceResponse {
  ExportTracePartialSuccess partial_success = 1;
}

message ExportTracePartialSuccess {
  int64 rejected_spans = 1;
  string error_message = 2;
}
`;

export const GOOGLE_RPC_PROTO = `
syntax = "proto3";

package google.rpc;

message Status {
  int32 code = 1;
  string message = 2;
  repeated google.protobuf.Any details = 3;
}

message RetryInfo {
  google.protobuf.Duration retry_delay = 1;
}
`;

export const GOOGLE_PROTOBUF_PROTO = `
syntax = "proto3";

package google.protobuf;

message Any {
  string type_url = 1;
  bytes value = 2;
}

message Duration {
  int64 seconds = 1;
  int32 nanos = 2;
}
`;

/** Every schema text above, in the order protobufjs parses them into one root. */
export const ALL_SCHEMAS: readonly string[] = [
  OTLP_PROTO,
  OTLP_RESOURCE_PROTO,
  OTLP_LOGS_PROTO,
  OTLP_TRACE_PROTO,
  OTLP_COLLECTOR_LOGS_PROTO,
  OTLP_COLLECTOR_TRACE_PROTO,
  GOOGLE_RPC_PROTO,
  GOOGLE_PROTOBUF_PROTO,
];
