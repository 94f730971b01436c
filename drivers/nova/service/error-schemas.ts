import { ErrorAnswer } from '../api-schemas.ts';

/** The error answers every route may give, for the OpenAPI document. */
export const errorAnswers = {
  400: ErrorAnswer,
  401: ErrorAnswer,
  404: ErrorAnswer,
  409: ErrorAnswer,
  413: ErrorAnswer,
  500: ErrorAnswer,
  501: ErrorAnswer,
  503: ErrorAnswer,
};
