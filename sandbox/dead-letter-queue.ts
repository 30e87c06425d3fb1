/**
 * An emulated SQS dead-letter queue, as the sandbox's Scheduler and Lambda
 * keep one each: messages in arrival order, durable under the data dir
 * (JsonFile), listed, and deleted by id (SQS's DeleteMessage) once replayed.
 */
import { JsonFile } from './json-file';

export class DeadLetterQueue<T extends { readonly message_id: string }> {
  private readonly file: JsonFile<T[]>;
  private readonly messages: T[];

  constructor(dataDir: string | undefined, fileName: string) {
    this.file = new JsonFile<T[]>(dataDir, fileName);
    this.messages = this.file.read([]);
  }

  send(message: T): void {
    this.messages.push(message);
    this.file.write(this.messages);
  }

  list(): T[] {
    return [...this.messages];
  }

  /** Takes one message off the queue; false when it is not there. */
  delete(messageId: string): boolean {
    const index = this.messages.findIndex((message) => message.message_id === messageId);
    if (index === -1) return false;
    this.messages.splice(index, 1);
    this.file.write(this.messages);
    return true;
  }
}
