// The inbox's pure logic, by topic. Components and the page import from here.

export * from './actions';
export * from './fields';
export * from './merge';
export * from './outcomes';
export * from './paging';
export * from './present';
export * from './pending';
export * from './query';
export * from './requests';
export * from './sort';
export * from './unseen';
