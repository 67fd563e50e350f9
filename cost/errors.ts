/**
 * Errors of the cost model. Each carries a stable `code` so that the CLI, tests and callers can
 * tell a bad input from a gap in the price data without parsing messages.
 */
export type CostErrorCode =
  | 'WSGW_COST_UNKNOWN_REGION'
  | 'WSGW_COST_MISSING_PRICE'
  | 'WSGW_COST_BAD_PRICE_FILE'
  | 'WSGW_COST_BAD_LOAD'
  | 'WSGW_COST_BAD_DEPLOYMENT'
  | 'WSGW_COST_BAD_STACK'
  | 'WSGW_COST_BAD_ARGS';

export class CostError extends Error {
  readonly code: CostErrorCode;

  constructor(code: CostErrorCode, message: string) {
    super(message);
    this.name = 'CostError';
    this.code = code;
  }
}
