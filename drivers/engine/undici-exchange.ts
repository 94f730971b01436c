import type { Dispatcher } from 'undici';
import { HttpTimeoutError, type HttpAnswer, type HttpExchange, type HttpRequest, type HttpStreamAnswer } from './http-exchange.ts';

/** Requests through an undici dispatcher: the SSH-forwarded pool, or a MockAgent in tests. */
export class UndiciExchange implements HttpExchange {
  forwardRemotePort?: HttpExchange['forwardRemotePort'];

  constructor(
    private readonly dispatcher: () => Dispatcher,
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {}

  async send(request: HttpRequest): Promise<HttpAnswer> {
    const signal = AbortSignal.timeout(request.timeoutMs);
    try {
      const response = await this.request(request, signal);
      const bytes = Buffer.from(await response.body.arrayBuffer());
      return { status: response.statusCode, headers: response.headers, text: bytes.toString('utf8'), bytes };
    } catch (error) {
      if (signal.aborted) throw new HttpTimeoutError(request.timeoutMs);
      throw error;
    }
  }

  /** The body streams on for as long as it flows; only a stall longer than the timeout ends it. */
  async open(request: HttpRequest): Promise<HttpStreamAnswer> {
    const response = await this.request(request);
    return { status: response.statusCode, headers: response.headers, body: response.body };
  }

  private request(request: HttpRequest, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    return this.dispatcher().request({
      origin: 'http://docker',
      method: request.method as Dispatcher.HttpMethod,
      path: request.path,
      headers: request.headers,
      body: request.body as Dispatcher.DispatchOptions['body'],
      signal,
      headersTimeout: request.timeoutMs,
      bodyTimeout: request.timeoutMs,
    });
  }

  close(): Promise<void> {
    return this.onClose();
  }
}
