import protobuf from 'protobufjs';

/**
 * The part of ONNX's onnx.proto (IR version 8) that formbench reads and writes. Field numbers are
 * ONNX's own; fields left out (training info, functions, sparse tensors) are skipped on decode.
 */
const ONNX_PROTO = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10;
    SPARSE_TENSOR = 11; SPARSE_TENSORS = 12; TYPE_PROTO = 13; TYPE_PROTOS = 14;
  }
  optional string name = 1; optional string ref_attr_name = 21; optional string doc_string = 13;
  optional AttributeType type = 20;
  // The value, in the field \`type\` names: one value, or a list of values of one kind.
  optional float f = 2; optional int64 i = 3; optional bytes s = 4; optional TensorProto t = 5; optional GraphProto g = 6;
  repeated float floats = 7; repeated int64 ints = 8; repeated bytes strings = 9; repeated TensorProto tensors = 10; repeated GraphProto graphs = 11;
}

message ValueInfoProto {
  optional string name = 1; optional TypeProto type = 2; optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1; repeated string output = 2;
  optional string name = 3; optional string op_type = 4; optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message StringStringEntryProto { optional string key = 1; optional string value = 2; }

message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }

message ModelProto {
  optional int64 ir_version = 1; repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2; optional string producer_version = 3;
  optional string domain = 4; optional int64 model_version = 5; optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message GraphProto {
  repeated NodeProto node = 1; optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  enum DataType {
    UNDEFINED = 0; FLOAT = 1; UINT8 = 2; INT8 = 3; UINT16 = 4; INT16 = 5; INT32 = 6; INT64 = 7;
    STRING = 8; BOOL = 9; FLOAT16 = 10; DOUBLE = 11; UINT32 = 12; UINT64 = 13;
    COMPLEX64 = 14; COMPLEX128 = 15; BFLOAT16 = 16;
  }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  enum DataLocation { DEFAULT = 0; EXTERNAL = 1; }
  optional DataLocation data_location = 14;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}
`;

const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
export const ModelProto = root.lookupType('onnx.ModelProto');
export const GraphProto = root.lookupType('onnx.GraphProto');
export const TensorProto = root.lookupType('onnx.TensorProto');

/** ONNX TensorProto.DataType codes of the IR's element types. */
export const ONNX_DTYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
} as const;

/** AttributeProto.AttributeType codes. */
export const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8 } as const;

/** Plain-object shapes of the decoded messages (protobufjs `toObject`-free decode results). */
export interface TensorMsg {
  dims?: (number | Long)[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: (number | Long)[];
  double_data?: number[];
  uint64_data?: (number | Long)[];
  name?: string;
  raw_data?: Uint8Array;
  external_data?: { key?: string; value?: string }[];
  data_location?: number;
}

export interface AttributeMsg {
  name?: string;
  type?: number;
  f?: number;
  i?: number | Long;
  s?: Uint8Array;
  t?: TensorMsg;
  g?: unknown;
  floats?: number[];
  ints?: (number | Long)[];
  strings?: Uint8Array[];
}

export interface ValueInfoMsg {
  name?: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number | Long; dim_param?: string }[] } } };
}

export interface NodeMsg {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: AttributeMsg[];
}

export interface GraphMsg {
  node?: NodeMsg[];
  name?: string;
  initializer?: TensorMsg[];
  input?: ValueInfoMsg[];
  output?: ValueInfoMsg[];
}

export interface ModelMsg {
  ir_version?: number | Long;
  opset_import?: { domain?: string; version?: number | Long }[];
  producer_name?: string;
  graph?: GraphMsg;
  metadata_props?: { key?: string; value?: string }[];
}

/** protobufjs represents int64 as Long when long.js is present, else as number. */
export interface Long {
  toNumber(): number;
}

export function toNumber(v: number | Long | undefined | null): number {
  if (v === undefined || v === null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}
