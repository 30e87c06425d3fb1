/** Pushes to mechanics through API Gateway's `@connections` management API. */
import { type ApiGatewayManagementApiClient, DeleteConnectionCommand, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { ServerMessage } from '../domain/messages';
import type { PushResult, Pusher } from '../ports';

export class ApiGatewayPusher implements Pusher {
  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  async send(connectionId: string, message: ServerMessage): Promise<PushResult> {
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: JSON.stringify(message) }));
      return 'sent';
    } catch (error) {
      if (error instanceof GoneException || (error as { name?: string }).name === 'GoneException') return 'gone';
      throw error;
    }
  }

  async disconnect(connectionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (error) {
      if (!(error instanceof GoneException || (error as { name?: string }).name === 'GoneException')) throw error;
    }
  }
}
