import type { Dispatcher } from 'undici';
import { HttpTimeoutError, type HttpAnswer, type HttpExchange, type HttpRequest } from './http-exchange.ts';

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
      const response = await this.dispatcher().request({
        origin: 'http://docker',
        method: request.method as Dispatcher.HttpMethod,
        path: request.path,
        headers: request.headers,
        body: request.body as Dispatcher.DispatchOptions['body'],
        signal,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      });
      return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
    } catch (error) {
      if (signal.aborted) throw new HttpTimeoutError(request.timeoutMs);
      throw error;
    }
  }

  close(): Promise<void> {
    return this.onClose();
  }
}
