export {
  pickCodecOptions,
  createRecordCodec,
  encodeRecord,
  decodeRecord,
  ENVELOPE_MAGIC,
  ENVELOPE_VERSION,
} from './record-codec.ts';
export type {
  CompressionAlgorithm,
  RecordSealer,
  RecordCodecOptions,
  RecordCodec,
} from './record-codec.ts';
