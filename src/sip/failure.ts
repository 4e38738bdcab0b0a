/**
 * Internal error value of the parser modules: the SipParseError code and detail plus the status a request carrying
 * it must be answered with (RFC 3261 §21.4: 400 by default, 416, 505, 513).
 */
export class Failure {
  constructor(
    readonly code: string,
    readonly detail: string,
    readonly status: number,
  ) {}
}

export const BAD_REQUEST = 400;
