/** The table's stores on one DynamoDB document client: for functions whose manifest entry has `table` actions. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENV } from '../../contract/env';
import { DynamoDbBookingStore } from '../adapters/dynamodb-booking-store';
import { DynamoDbConnectionStore } from '../adapters/dynamodb-connection-store';
import { DynamoDbMechanicStore } from '../adapters/dynamodb-mechanic-store';
import { DynamoDbOpenBookings } from '../adapters/dynamodb-open-bookings';
import { DynamoDbTicketStore } from '../adapters/dynamodb-ticket-store';
import { requireEnv } from '../config';
import type { Deps } from '../use-cases/deps';
import { awsClientConfig, once } from '.';

const documentClient = once(() =>
  DynamoDBDocumentClient.from(new DynamoDBClient(awsClientConfig), { marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false } }),
);
const tableName = once(() => requireEnv(ENV.tableName));
const bookings = once(() => new DynamoDbBookingStore(documentClient(), tableName()));
const mechanics = once(() => new DynamoDbMechanicStore(documentClient(), tableName()));
const connections = once(() => new DynamoDbConnectionStore(documentClient(), tableName()));
const openBookings = once(() => new DynamoDbOpenBookings(documentClient(), tableName()));
const tickets = once(() => new DynamoDbTicketStore(documentClient(), tableName()));

export const table: Pick<Deps, 'bookings' | 'mechanics' | 'connections' | 'openBookings' | 'tickets'> = {
  get bookings() {
    return bookings();
  },
  get mechanics() {
    return mechanics();
  },
  get connections() {
    return connections();
  },
  get openBookings() {
    return openBookings();
  },
  get tickets() {
    return tickets();
  },
};
