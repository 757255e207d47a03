/**
 * What Kafka knows about the local job: who is reading its topic (a consumer group's members and
 * what they subscribe to), which groups hold committed offsets for it, and where each partition
 * stands. Read-only; reset.ts does the changes.
 */
import { type Admin, AssignerProtocol, type MemberDescription } from 'kafkajs';

export interface Member {
  readonly memberId: string;
  readonly clientId: string;
  readonly clientHost: string;
}

export interface GroupOffsets {
  readonly group: string;
  /** Committed offsets (>= 0 only) of the topic's partitions. */
  readonly partitions: readonly { partition: number; offset: number }[];
}

/**
 * The members of `group` that subscribe to `topic` (a group may read other topics too; a member
 * whose subscription cannot be decoded counts, to be safe). Empty: nobody reads the topic in it.
 */
export async function activeMembers(admin: Admin, group: string, topic: string): Promise<Member[]> {
  const { groups } = await admin.describeGroups([group]);
  return (groups[0]?.members ?? [])
    .filter((m) => subscribes(m, topic))
    .map(({ memberId, clientId, clientHost }) => ({ memberId, clientId, clientHost }));
}

function subscribes(member: MemberDescription, topic: string): boolean {
  try {
    const metadata = AssignerProtocol.MemberMetadata.decode(member.memberMetadata);
    return metadata === null || metadata.topics.includes(topic);
  } catch {
    return true;
  }
}

/** Every consumer group with a committed offset on `topic` (whether or not the topic exists). */
export async function groupsWithOffsets(admin: Admin, topic: string): Promise<GroupOffsets[]> {
  const { groups } = await admin.listGroups();
  const all = await Promise.all(
    groups.map(async ({ groupId }) => ({
      group: groupId,
      partitions: await committed(admin, groupId, topic),
    })),
  );
  return all.filter((g) => g.partitions.length > 0).sort((a, b) => a.group.localeCompare(b.group));
}

/**
 * The group's committed offsets on the topic. Asked for every topic of the group, not for this
 * one: kafkajs looks a named topic up first and fails when it does not exist (any more).
 */
export async function committed(
  admin: Admin,
  group: string,
  topic: string,
): Promise<{ partition: number; offset: number }[]> {
  const topics = await admin.fetchOffsets({ groupId: group });
  return (topics.find((t) => t.topic === topic)?.partitions ?? [])
    .map((p) => ({ partition: p.partition, offset: Number(p.offset) }))
    .filter((p) => p.offset >= 0)
    .sort((a, b) => a.partition - b.partition);
}

/** Log start and end offsets per partition; null when the topic does not exist. */
export async function topicOffsets(
  admin: Admin,
  topic: string,
): Promise<{ partition: number; low: number; high: number }[] | null> {
  if (!(await admin.listTopics()).includes(topic)) return null;
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets
    .map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) }))
    .sort((a, b) => a.partition - b.partition);
}
