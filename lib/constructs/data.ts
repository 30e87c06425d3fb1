/**
 * The one DynamoDB table, built from contract/table-schema.ts (the same schema the
 * sandbox's CreateTable and the adapters read). Sessions, requests, mechanics,
 * connections and idempotency records all live here under generic keys.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { type GlobalIndex, type KeyAttribute, tableSchema } from '../../contract/table-schema';

export interface DataProps {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const attribute = (key: KeyAttribute) => ({ name: key.name, type: AttributeType.STRING });

export class Data extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: DataProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.table = new TableV2(this, 'Table', {
      partitionKey: attribute(tableSchema.partitionKey),
      sortKey: attribute(tableSchema.sortKey),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: tableSchema.timeToLiveAttribute,
      globalSecondaryIndexes: tableSchema.globalSecondaryIndexes.map((index: GlobalIndex) => ({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
        ...(index.include ? { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.include] } : { projectionType: ProjectionType.ALL }),
      })),
      // A table that is kept on stack deletion is also kept from a stray delete.
      deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
      removalPolicy,
    });
  }
}
