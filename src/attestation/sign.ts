import type { GateReport } from '../engine.js';
import { type DsseEnvelope, signEnvelope } from './dsse.js';
import type { SigningKey } from './keys.js';
import { buildStatement, IN_TOTO_PAYLOAD_TYPE, type Statement } from './statement.js';

export interface Attestation {
  statement: Statement;
  envelope: DsseEnvelope;
}

/** The signed attestation of a PASSED report: the Statement's JSON, in a DSSE envelope signed with `key`. */
export function createAttestation(
  report: GateReport,
  evaluationId: string,
  key: SigningKey,
  issuedAt: Date,
): Attestation {
  const statement = buildStatement({ report, evaluationId, issuedAt, keyid: key.keyid });
  const envelope = signEnvelope(Buffer.from(JSON.stringify(statement), 'utf8'), IN_TOTO_PAYLOAD_TYPE, key);
  return { statement, envelope };
}

/** The envelope as written to a file or uploaded: pretty JSON with a final newline. */
export function envelopeText(envelope: DsseEnvelope): string {
  return `${JSON.stringify(envelope, null, 2)}\n`;
}
