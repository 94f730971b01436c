export * from '../../drivers/opennebula/vm-document-builder.ts';
